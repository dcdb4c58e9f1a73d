"""The input plane of a 2-D problem: the decision boundary and what each hidden unit computes there.

:func:`decision_data` gives ŷ over the plane at the final w and at the slider's
snapshots (with the training accuracy, and a sentence when ŷ is constant);
:func:`hidden_maps` gives a^ℓ_i(x) of every hidden unit, as TensorFlow
Playground shows it, and :func:`unit_maps` lays them out with one colour range
per activation (:func:`mlplab.viz.style.unit_ranges`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplab import analysis
from mlplab.viz.iterates import snapshots
from mlplab.viz.notation import pretty
from mlplab.viz.style import unit_ranges

__all__ = ["decision_view", "accuracy", "constant_text", "DecisionData", "decision_data", "decision",
           "MAX_HIDDEN_MAPS", "HIDDEN_MAP_COLUMNS", "hidden_maps", "hidden_map_grid", "UnitMaps", "unit_maps"]


def decision_view(comp, run_index: int | None = None):
    """(run, xs, ys, P) at the final w of the run ``run_index`` (default: the lowest final E); None unless N_0 = 2."""
    if comp.problem.net.n_inputs != 2:
        return None
    if run_index is None:
        run_index = int(np.argmin([r.result.loss for r in comp.runs]))
    run = comp.runs[run_index]
    return (run, *analysis.decision_grid(run.net, comp.problem.X))


def _is_classification(Y) -> bool:
    Y = np.asarray(Y, dtype=float)
    return bool(np.all((Y == 0) | (Y == 1)))


def accuracy(net, X, Y, w=None) -> float | None:
    """Training accuracy of ŷ ≥ 0.5 (one output) or argmax (several); None for non-0/1 targets."""
    if not _is_classification(Y):
        return None
    out = net.forward(X, params=w)
    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    if out.shape[1] == 1:
        return float(np.mean((out[:, 0] >= 0.5) == (Y[:, 0] >= 0.5)))
    return float(np.mean(out.argmax(axis=1) == Y.argmax(axis=1)))


def constant_text(P) -> str | None:
    """'the network outputs ≈ 0.4988 everywhere' when ŷ varies by less than 10⁻³ over the plane, else None."""
    P = np.asarray(P, dtype=float)
    if P.size and np.isfinite(P).all() and np.ptp(P) < 1e-3:
        return f"the network outputs ≈ {float(np.mean(P)):.4g} everywhere"
    return None


@dataclass
class DecisionData:
    """The decision boundary of one run: ŷ over the input plane at the final w and at the snapshots.

    Attributes:
        run_index, run: which run.
        xs, ys: grid coordinates; P: ŷ at the final w (n, n).
        acc: training accuracy at the final w (None for non-0/1 targets).
        constant: a sentence when ŷ is constant over the plane, else None.
        snaps: per slider position, (P, acc, constant) at that iterate — None when the run's
            iterates were not recorded.
        X, y: the data (y: the target column drawn as classes).
    """

    run_index: int
    run: object
    xs: np.ndarray
    ys: np.ndarray
    P: np.ndarray
    acc: float | None
    constant: str | None
    snaps: list | None
    X: np.ndarray
    y: np.ndarray

    def title(self, P=None, acc=None, constant=None, where: str = "final w") -> str:
        acc = self.acc if P is None else acc
        constant = self.constant if P is None else constant
        parts = [f"Decision boundary of {pretty(self.run.name)} at the {where}"]
        if acc is not None:
            parts.append(f"training accuracy {acc:.1%}")
        if constant:
            parts.append(constant)
        return " — ".join(parts)


def decision_data(comp, run_index: int | None = None, snapshots=None, n: int = 61,
                  n_snap: int = 41) -> DecisionData | None:
    """The decision boundary of the run with the lowest final E (or ``run_index``); None unless N_0 = 2."""
    net0 = comp.problem.net
    if net0.n_inputs != 2:
        return None
    if run_index is None:
        run_index = int(np.argmin([r.result.loss for r in comp.runs]))
    run = comp.runs[run_index]
    X, Y = comp.problem.X, comp.problem.Y
    xs, ys, P = analysis.decision_grid(run.net, X, n=n)
    acc = accuracy(run.net, X, Y)
    snaps = None
    if snapshots is not None and len(run.trajectory) == len(run.history) and len(run.history):
        gx, gy = np.linspace(xs[0], xs[-1], n_snap), np.linspace(ys[0], ys[-1], n_snap)
        GX, GY = np.meshgrid(gx, gy)
        grid = np.stack([GX.ravel(), GY.ravel()], axis=1)
        snaps = []
        for i in snapshots[run_index]:
            w = np.asarray(run.trajectory[i])
            Ps = run.net.forward(grid, params=w)[:, -1].reshape(n_snap, n_snap)
            snaps.append((Ps, accuracy(run.net, X, Y, w), constant_text(Ps)))
        snaps = {"xs": gx, "ys": gy, "frames": snaps}
    y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    y = y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1).astype(float)
    return DecisionData(run_index, run, xs, ys, P, acc, constant_text(P), snaps, X, y)


MAX_HIDDEN_MAPS = 64


def hidden_maps(comp, run_index: int, n: int = 41, max_units: int = MAX_HIDDEN_MAPS):
    """What each hidden unit computes over the input plane, as TensorFlow Playground shows it.

    Returns (xs, ys, [(ℓ, i, A)]) — A (n, n) is a^ℓ_i(x) at the run's final w for
    every unit i of every hidden layer ℓ — or None when N_0 ≠ 2, there is no hidden
    layer, or the net has more than ``max_units`` hidden units.
    """
    net = comp.problem.net
    sizes = list(net.layer_sizes)
    if net.n_inputs != 2 or len(sizes) < 3 or sum(sizes[1:-1]) > max_units:
        return None
    run = comp.runs[run_index]
    X = comp.problem.X
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    GX, GY = np.meshgrid(xs, ys)
    _, As = run.net.forward_cache(np.stack([GX.ravel(), GY.ravel()], axis=1), run.result.params)
    maps = []
    for ell in range(1, len(sizes) - 1):
        A = np.asarray(As[ell])
        for i in range(A.shape[1]):
            maps.append((ell, i + 1, A[:, i].reshape(n, n)))
    return xs, ys, maps


HIDDEN_MAP_COLUMNS = 8


def hidden_map_grid(comp, decision: DecisionData | None):
    """:func:`hidden_maps` of the run the decision boundary shows, laid out for a figure:
    (xs, ys, maps, rows, cols), or None where there are no maps to draw."""
    if decision is None:
        return None
    hm = hidden_maps(comp, decision.run_index)
    if hm is None:
        return None
    xs, ys, maps = hm
    cols = min(HIDDEN_MAP_COLUMNS, len(maps))
    return xs, ys, maps, math.ceil(len(maps) / cols), cols



def decision(comp, run_index: int | None = None) -> DecisionData | None:
    """:func:`decision_data` with the slider's snapshots, computed once per comparison and run."""
    key = ("_decision", run_index)
    cache = comp.__dict__.setdefault("_fig_cache", {})
    if key not in cache:
        cache[key] = decision_data(comp, run_index, snapshots=snapshots(comp)[0])
    return cache[key]


@dataclass
class UnitMaps:
    """The hidden-unit maps laid out for a figure: grid ``xs``, ``ys``; ``maps`` [(ℓ, i, A (n, n))];
    ``rows`` × ``cols`` panels; ``activations[ℓ − 1]``: layer ℓ's φ; ``ranges``: {φ: (lo, hi)}."""

    run: object
    xs: np.ndarray
    ys: np.ndarray
    maps: list
    rows: int
    cols: int
    activations: list
    ranges: dict


def unit_maps(comp, decision: DecisionData | None) -> UnitMaps | None:
    """:func:`hidden_map_grid` with every map's colour range (one per activation), or None."""
    grid = hidden_map_grid(comp, decision)
    if grid is None:
        return None
    xs, ys, maps, rows, cols = grid
    acts = [a.name for a in decision.run.net.activations]
    return UnitMaps(decision.run, xs, ys, maps, rows, cols, acts, unit_ranges(acts, maps))
