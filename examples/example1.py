"""Example 1 of Haber & Ruthotto 2018 (arXiv 1705.03341; docs/theory.md 2): how the
eigenvalues of K decide stability.

A forward-Euler ResNet with n = 2, N = 10 identical layers, h = 0.1 (T = 1), tanh, b = 0
propagates three inputs y1 = (0.1, 0.1), y2 = -y1, y3 = (0, 0.5) with one of

    K+ = [[2, -2], [0, 2]]   eigenvalues 2, 2:    the states fly apart
    K- = [[-2, 0], [2, -2]]  eigenvalues -2, -2:  the states collapse to the origin
    K0 = [[0, -1], [1, 0]]   eigenvalues +-i:     the states rotate, distances are kept

and draws one phase-plane panel per matrix: the force field sigma(K y) as arrows and the
three trajectories y_0 .. y_N as coloured lines (a circle marks the start).

    python examples/example1.py                    # writes ./example1.png
    python examples/example1.py --out docs/figures # regenerates the README's figure
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import stablenet
from stablenet.plotting import pyplot

DEPTH, T = 10, 1.0
MATRICES = {
    "K+": [[2.0, -2.0], [0.0, 2.0]],
    "K-": [[-2.0, 0.0], [2.0, -2.0]],
    "K0": [[0.0, -1.0], [1.0, 0.0]],
}
INPUTS = [[0.1, 0.1], [-0.1, -0.1], [0.0, 0.5]]
LIMIT = 1.5  # the phase-plane box [-LIMIT, LIMIT]^2, the same for all panels


def trajectories(K: torch.Tensor) -> torch.Tensor:
    """States y_0 .. y_N of the three inputs, shape [N + 1, 3, 2], K the same in every layer."""
    block = stablenet.ResNet(2, DEPTH, T, activation="tanh").to(K.dtype)
    block.reset_parameters(init=K.expand(DEPTH, 2, 2))  # b = 0, K_j = K for every layer
    with torch.no_grad():
        return block(torch.tensor(INPUTS, dtype=K.dtype), return_trajectory=True)


def distance_ratios(traj: torch.Tensor) -> dict[str, float]:
    """|y_i(T) - y_j(T)| / |y_i(0) - y_j(0)| for the three pairs."""
    pairs = {"y1-y2": (0, 1), "y1-y3": (0, 2), "y2-y3": (1, 2)}
    return {
        name: float((traj[-1, i] - traj[-1, j]).norm() / (traj[0, i] - traj[0, j]).norm())
        for name, (i, j) in pairs.items()
    }


def plot(out: Path) -> None:
    """Write the three-panel phase-plane figure to ``out``."""
    plt = pyplot()

    grid = torch.linspace(-LIMIT, LIMIT, 17, dtype=torch.float64)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    points = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    colours = ["tab:blue", "tab:orange", "tab:green"]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 5.0))
    for ax, (name, K_list) in zip(axes, MATRICES.items(), strict=True):
        K = torch.tensor(K_list, dtype=torch.float64)
        force = torch.tanh(points @ K.T)  # sigma(K y) at every grid point
        ax.quiver(gx.numpy(), gy.numpy(), force[:, 0].reshape(gx.shape).numpy(),
                  force[:, 1].reshape(gx.shape).numpy(), color="0.6", angles="xy", width=0.003)
        traj = trajectories(K)
        for k, colour in enumerate(colours):
            path = traj[:, k].numpy()
            ax.plot(path[:, 0], path[:, 1], "-", color=colour, lw=2, marker=".", ms=5,
                    label=f"y{k + 1}")
            ax.plot(path[0, 0], path[0, 1], "o", color=colour, ms=8, mfc="white", mew=2)
        eig = torch.linalg.eigvals(K)
        eig_text = ", ".join(f"{complex(e).real:g}{complex(e).imag:+g}i" for e in eig)
        ratio = distance_ratios(traj)["y1-y2"]
        ax.set_title(f"{name} = {K_list}\neigenvalues {eig_text};  |y1-y2| x{ratio:.2f}",
                     fontsize=10)
        ax.set_xlim(-LIMIT, LIMIT)
        ax.set_ylim(-LIMIT, LIMIT)
        ax.set_aspect("equal")
        ax.set_xlabel("y[0]")
        ax.axhline(0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0, color="0.85", lw=0.8, zorder=0)
    axes[0].set_ylabel("y[1]")
    axes[0].legend(loc="lower right", fontsize=9)
    fig.suptitle(f"Example 1: ResNet, N = {DEPTH}, h = {T / DEPTH:g}, tanh, b = 0 "
                 "(arrows: sigma(K y); circles: start)")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)


def output_file(out: Path) -> Path:
    """The figure's path: ``out/example1.png`` for a folder, ``out`` itself for a .png name."""
    return out if out.suffix.lower() == ".png" else out / "example1.png"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write example1.png into (default: the current "
                        "directory), or a .png file name")
    args = parser.parse_args(argv)
    args.out = output_file(args.out)
    for name, K in MATRICES.items():
        ratios = distance_ratios(trajectories(torch.tensor(K, dtype=torch.float64)))
        print(f"{name}: distance ratios y(T)/y(0): "
              + ", ".join(f"{pair} {r:.3f}" for pair, r in ratios.items()))
    plot(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
