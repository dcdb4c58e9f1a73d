"""Regenerate the README figures in docs/ from the default comparison on the lecture's toy problem.

    PYTHONPATH=src python3 docs/make_figures.py        # from the repository root (or with mlplab[viz] installed)

Writes docs/toy-surface.png (the slides' (w11, w12) surface with the GD /
SGD / mini-batch SGD paths from w^0 = (0.5, 0.5)), docs/toy-contour.png (its
log-spaced contours zoomed to the paths, equal axes: GD's exact-line-search
steps meet at right angles) and docs/toy-convergence-cost.png (E − E* against
cost in sample-gradient equivalents, log-log and semi-log, the budget line),
all from ``mlplab.compare.run_comparison()`` (budget 1000, seed 0): deterministic.
"""

from pathlib import Path

from mlplab import compare, figures, plots

HERE = Path(__file__).resolve().parent


def main() -> None:
    comp = compare.run_comparison()
    print(compare.format_table(comp))
    view = figures.comparison_surface(comp)
    figs = {"toy-surface.png": plots.surface_3d(comp, view), "toy-contour.png": plots.contour(comp, view),
            "toy-convergence-cost.png": plots.convergence(comp, "cost")}
    for name, fig in figs.items():
        fig.savefig(HERE / name, dpi=90, bbox_inches="tight", metadata={"Software": None})
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
