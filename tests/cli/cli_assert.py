"""The assertion the CLI tests share: a user's mistake is exit 2 with a message, no traceback."""

from __future__ import annotations


def expect_error(result, *fragments: str) -> None:
    """``result`` (of the ``cli`` fixture) exited 2, printed no traceback, and its stderr
    holds every one of ``fragments``."""
    assert result.code == 2, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
