"""Exceptions for user mistakes.

Every error a user can cause (a bad argument, a bad data file, a bad checkpoint) is
raised as a subclass of :class:`UserError`, which is itself a ``ValueError`` (or
``TypeError``), so library callers can catch the standard types while the CLI can
tell user mistakes (message, exit code 2) from bugs (traceback).
"""

from __future__ import annotations


class UserError(Exception):
    """Base of all errors caused by user input; the message says what is wrong and how to fix it."""


class ConfigError(UserError, ValueError):
    """An invalid argument or configuration value (depth, width, T, names, ...)."""


class ConfigTypeError(UserError, TypeError):
    """An argument of the wrong type (e.g. a float depth)."""


class DataError(UserError, ValueError):
    """Missing, unreadable, corrupt or inconsistent data (names the file where there is one)."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that is corrupt, truncated, foreign or from a different architecture."""


class OutputError(UserError, OSError):
    """A file could not be written (a full disk, no permission); names the file and the fix."""


class NonFiniteError(UserError, ValueError):
    """A tensor (weights, inputs, a Jacobian) holds NaN or Inf where finite values are needed."""
