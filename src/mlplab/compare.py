"""Compare optimizers from the same w^0 with the same budget in sample-gradient equivalents.

:func:`run_comparison` trains one copy of the network per optimizer spec —
by default the lecture's three: GD with exact line search, SGD with
γ_k = 1/(k+1), mini-batch SGD (|B_k| = 2, γ_k = 1/(k+1)) — recording every
iterate w^k (``eval_every=1``; those records are not counted in the cost), and
stops each run once its cost reaches the budget. Cost is counted in
sample-gradient equivalents, ``history.grad_equivalents`` = sample gradients +
(line-search forward passes) / 3: a gradient is a forward and a backward pass,
about three forward passes, so GD's line search is charged for the forward
passes it makes, not a full gradient per evaluation of E. The returned :class:`Comparison`
holds the histories, trajectories, fitted rates next to the lecture's theory,
and where each run stopped. Every run is held to the budget: a step whose line
search would carry the cost past it is cut off there and not taken (see
:func:`hold_to_budget`).

Data only: the data flows one way, runs → :class:`Comparison` (here) →
figure data (:mod:`mlplab.figures`) → matplotlib PNGs (:mod:`mlplab.plots`)
or the Plotly page (:mod:`mlplab.report`); this module imports none of them.
:func:`write_history` exports the recorded histories (CSV or JSON).

    python -m mlplab.compare [--budget 1000] [--seed 0]

prints the default comparison on the lecture's toy problem (``mlplab compare
--report/--plots`` draws it). NumPy/SciPy only.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import io
import json
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

import mlplab
from mlplab import analysis
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, MiniBatchSGD, inverse


@dataclass
class Run:
    """One optimizer's run.

    Attributes:
        name: label.
        optimizer: the optimizer.
        result: the :class:`mlplab.TrainResult`.
        trajectory: (n_records, d) iterates w^k, aligned with ``result.history``.
        net: the trained copy of the network.
        rate: :class:`mlplab.analysis.RateFit` of E − E_ref over k (None if too few points).
        rate_note: why ``rate`` is None, as the table shows it ("n/a (fewer than 5 points)").
        theory: the lecture's statement for this method.
        stop: :class:`mlplab.analysis.StationaryPoint` at the final w, judged against the
            run's ‖∇E(w^0)‖ (None for nets above ``hessian_max_d`` parameters).
    """

    name: str
    optimizer: object
    result: object
    trajectory: np.ndarray
    net: object
    rate: analysis.RateFit | None = None
    theory: str = ""
    stop: analysis.StationaryPoint | None = None
    rate_note: str = "n/a"  # what the table says when ``rate`` is None (and why)
    budget_note: str = ""  # set when a step was cut off at the budget (see hold_to_budget)

    @property
    def history(self):
        return self.result.history


@dataclass
class Comparison:
    """Runs of several optimizers on one problem, from one w^0.

    Attributes:
        runs: the :class:`Run` s.
        problem: the :class:`mlplab.Problem` (network architecture, X, Y, loss).
        w0: the common starting point.
        budget: cost budget per run (sample-gradient equivalents), or None.
        E_ref: E* used for E − E* (given, the known infimum, or the best E seen by any run
            less a margin: see :func:`reference_below_best`).
        E_ref_note: where E_ref comes from.
        config: the settings, for reports.
        gradient_flow: :class:`mlplab.analysis.GradientFlow` of the run ``flow_run`` (the first
            run that took a step), per sample, at its w^0 and its final w (the verdict and the
            factors drawn beside it).
        title: a heading.
        start_label: what the first point of the paths is ("w^0"; "w (saved)" for a saved
            model without a history, whose only point is its final weights).
        notes: sentences the report shows under its title.
    """

    runs: list[Run]
    problem: Problem
    w0: np.ndarray
    budget: int | None
    E_ref: float
    E_ref_note: str
    config: dict = field(default_factory=dict)
    gradient_flow: analysis.GradientFlow | None = None
    title: str = "mlplab comparison"
    start_label: str = "w^0"
    notes: list = field(default_factory=list)
    flow_run: int = 0  # the run gradient_flow (and the per-layer figures) are about

    @property
    def is_toy(self) -> bool:
        """Two parameters: the (w_1, w_2) plane is the whole parameter space."""
        return self.problem.d == 2

    def table(self) -> list[dict]:
        """One row per run: final E, ‖∇E‖, steps, cost, stop reason, fitted rate, theory, verdict."""
        rows = []
        for r in self.runs:
            res = r.result
            rows.append({
                "method": r.name, "E(w)": res.loss, "||grad E||": res.grad_norm, "steps": res.n_iter,
                "cost": float(res.grad_equivalents), "sample gradients": res.cost,
                "forward passes": res.forward_evals,
                "stopped": "budget" if res.stop_reason == "max_cost" else res.stop_reason,
                "fitted rate": r.rate.describe() if r.rate is not None else r.rate_note,
                "lecture": r.theory,
                "where it stopped": r.stop.verdict if r.stop is not None else "n/a",
            })
        return rows

    def plot(self, x: str = "cost", backend: str | None = None):
        """E − E* of every run against ``x`` ("cost": sample-gradient equivalents, or "k").

        Returns a Plotly figure (the report's), or a matplotlib one where Plotly is not
        installed (``backend="matplotlib"`` asks for it).
        """
        if x not in ("cost", "k"):
            raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
        from mlplab.training.records import plot_backend

        if plot_backend(backend) == "plotly":
            from mlplab import report

            return report.convergence(self, x)
        from mlplab import plots

        return plots.convergence(self, x)

    def _repr_html_(self) -> str:
        from mlplab import _html

        rows = [[r["method"], _html.num(r["E(w)"]), _html.num(r["||grad E||"]), _html.num(r["steps"]),
                 _html.num(r["cost"], 6), r["stopped"], r["fitted rate"], r["where it stopped"]] for r in self.table()]
        head = ["method", "E(w)", "‖∇E‖", "steps", "cost", "stopped", "fitted rate", "where it stopped"]
        spark = _html.sparkline(
            [(r.name, r.history.grad_equivalents, np.asarray(r.history.loss, dtype=float) - self.E_ref)
             for r in self.runs], label="E − E*:", xlabel="cost", width=300, height=90)
        note = f"<div style='font-size:11px;color:#555'>{_html.esc(self.E_ref_note)}</div>"
        return _html.side_by_side(_html.table(rows, head, title=self.title) + note, spark)


# the cost axis of every figure, with its rule (see mlplab.train: FORWARD_PER_GRADIENT)
COST_LABEL = "cost: sample-gradient equivalents (gradients + line-search forward passes / 3)"


E_MARGIN = 1e-3  # Δ is at least this fraction of E(w^0) − E_best


NONNEGATIVE_LOSSES = frozenset({"squared", "absolute", "binary_cross_entropy", "cross_entropy", "perceptron"})
"""Losses with e ≥ 0 for every sample (and L2 ≥ 0), so E ≥ 0 and E* is never below 0."""


def reference_below_best(losses, lower: float | None = None) -> tuple[float, str]:
    """E* for E − E* when the infimum is unknown: E_best − Δ (never below ``lower``), with its note.

    E_best is the smallest E(w^k) any run recorded; taking E* = E_best would make
    E − E* plunge to 0 at that record (a fake acceleration at a run's own best
    point). Δ = max(d, 10⁻³·(E(w^0) − E_best)), where d is the decrease of E into
    that record, so E − E* ≥ Δ > 0 everywhere and falls at most 2× at that record
    because of E*.

    Args:
        losses: per run, its recorded E(w^k) (1-D, the first is E(w^0)).
        lower: a known lower bound of E (0 for the losses in :data:`NONNEGATIVE_LOSSES`);
            when E_best − Δ falls below it, E* is that bound.
    """
    runs = [np.asarray(h, dtype=float) for h in losses]
    runs = [h[np.isfinite(h)] for h in runs]
    runs = [h for h in runs if h.size]
    if not runs:
        return 0.0, "E* = 0 (no finite E recorded)"
    best_run = min(runs, key=lambda h: float(h.min()))
    i = int(np.argmin(best_run))
    E_best = float(best_run[i])
    d = float(best_run[i - 1] - E_best) if i > 0 else 0.0
    spread = max(float(h[0]) for h in runs) - E_best
    delta = max(d, E_MARGIN * spread)
    if not delta > 0:  # one point, or E never moved: a margin relative to E itself
        delta = E_MARGIN * abs(E_best) if E_best != 0 else 1e-12
    E_ref = E_best - delta
    if lower is not None and E_ref < lower:
        return float(lower), (f"E* = {lower:g}, E's lower bound (every e^s ≥ 0); E_best − Δ = {E_ref:.6g} would be "
                              f"below it (E_best = {E_best:.6g}, the smallest E(w^k) recorded by any run)")
    note = (f"E* = E_best − Δ = {E_ref:.6g}: E_best = {E_best:.6g}, the smallest E(w^k) recorded by any run, "
            f"less a margin Δ = {delta:.3g} = max(the decrease of E into that record, "
            f"{E_MARGIN:g}·(E(w^0) − E_best)), so E − E* stays ≥ Δ > 0")
    return E_ref, note


def fit_run_rate(run: Run, E_ref: float, window=None) -> None:
    """Set ``run.rate`` (and ``run.rate_note`` when no fit is made) from E − E_ref over k."""
    k = np.asarray(run.history.k, dtype=float)
    err = np.asarray(run.history.loss, dtype=float) - E_ref
    try:
        run.rate = analysis.fit_rate(k, err, window=window)
    except ValueError as exc:
        run.rate = None
        run.rate_note = (f"n/a (fewer than {analysis.rates.MIN_POINTS} points)" if "at least" in str(exc)
                         else f"n/a ({exc})")


# every record holds the exact E(w^k), ∇E(w^k) on all samples (not a block estimate): the figures
# and the rates are about E itself
_EXACT = {"monitor": "full"} if "monitor" in inspect.signature(mlplab.train).parameters else {}


def default_specs(S: int):
    """The lecture's three methods: [(name, optimizer)]."""
    b = 2 if S >= 4 else 1
    return [
        ("GD, exact line search", GD("exact")),
        ("SGD, γ_k = 1/(k+1)", SGD(schedule=inverse(1.0))),
        (f"mini-batch SGD, |B|={b}, γ_k = 1/(k+1)", MiniBatchSGD(b, schedule=inverse(1.0))),
    ]


def run_comparison(net=None, X=None, Y=None, loss: str = "squared", specs=None, *, budget: int = 1000,
                   w0=None, seed: int = 0, tol: float | None = 1e-6, rtol: float | None = None,
                   E_ref: float | None = None,
                   rate_window=None, hessian_max_d: int = 200_000, config: dict | None = None,
                   title: str | None = None) -> Comparison:
    """Run each optimizer spec from the same w^0 with the same cost budget.

    Args:
        net: an :class:`mlplab.MLP` (copied for each run; its params are w^0
            unless ``w0`` is given). Default: the lecture's toy network
            ``MLP([2, 1], bias=False)`` with w^0 = (0.5, 0.5).
        X, Y: data (default the lecture's toy data).
        loss: loss name.
        specs: list of (name, optimizer) pairs, or of optimizers; default
            :func:`default_specs`.
        budget: sample-gradient equivalents per run (``history.grad_equivalents``:
            sample gradients + line-search forward passes / 3); a run stops at the
            first record whose cost reaches it.
        w0: starting point (d,), overrides net.params.
        seed: sampling seed, the same for every run.
        tol: ‖∇E‖ tolerance (None disables); rtol: ‖∇E‖ ≤ rtol·‖∇E(w^0)‖ (None disables).
        E_ref: E* for E − E*; default 0 for the toy problem (its infimum,
            approached as ‖w‖ → ∞), otherwise the smallest E any run recorded.
        rate_window: (k_lo, k_hi) for :func:`mlplab.analysis.fit_rate`.
        hessian_max_d: judge where each run stopped (:func:`mlplab.analysis.stationary_point`,
            Lanczos on Hessian-vector products) only for d up to this.
        config: extra settings to show in the report.
    """
    if (X is None) != (Y is None):
        raise ValueError("give both X and Y, or neither (the lecture's toy data)")
    toy = net is None and X is None  # the lecture's toy problem: its network and its data
    if net is None:
        net = mlplab.MLP(mlplab.datasets.LECTURE_SIZES, activation="sigmoid", bias=False,
                         init=np.array([0.5, 0.5]))
    if X is None:
        X, Y = mlplab.datasets.lecture()
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive integer (sample-gradient equivalents), got {budget!r}")
    w0 = np.array(net.params if w0 is None else w0, dtype=net.dtype, copy=True)
    if w0.shape != (net.n_params,):
        raise ValueError(f"w0 must have shape ({net.n_params},), got {w0.shape}")
    problem = Problem(net, X, Y, loss)
    S = problem.S
    if specs is None:
        specs = default_specs(S)
    specs = [(s.__class__.__name__, s) if not isinstance(s, tuple) else s for s in specs]
    if not specs:
        raise ValueError("specs must name at least one optimizer")
    runs = []
    for name, opt in specs:
        run_net = net.copy()
        run_net.params[...] = w0
        rec = analysis.TrajectoryRecorder(run_net)
        try:
            result = mlplab.train(run_net, X, Y, loss=loss, optimizer=opt, max_cost=budget,
                                  tol=tol, rtol=rtol, eval_every=1, callback=rec, seed=seed, **_EXACT)
        except mlplab.DivergenceError as exc:
            raise ValueError(f"{name} diverged: {exc}") from exc
        result, traj, cut = hold_to_budget(result, rec.finish(result), budget)
        if cut:
            run_net.params[...] = result.params
        run = Run(name, opt, result, traj, run_net, theory=analysis.theory_rate(opt), budget_note=cut)
        runs.append(run)

    if E_ref is None:
        if problem.d == 2 and toy:
            E_ref, note = 0.0, "E* = 0, the infimum (separable data: approached only as ‖w‖ → ∞)"
        else:
            lower = 0.0 if (isinstance(loss, str) and loss in NONNEGATIVE_LOSSES) else None
            E_ref, note = reference_below_best([r.history.loss for r in runs], lower=lower)
    else:
        E_ref = float(E_ref)
        note = f"E* = {E_ref:.6g} (given)"
    g0 = _grad_scale(problem, w0)  # every run starts at w^0: ‖∇E(w^0)‖ is the scale ‖∇E‖ is judged by
    for r in runs:
        fit_run_rate(r, E_ref, rate_window)
        if problem.d <= hessian_max_d:
            r.stop = analysis.stationary_point(problem, r.result.params, grad_scale=g0, grad_scale_name="‖∇E(w^0)‖")
    fi = next((i for i, r in enumerate(runs) if len(r.history) >= 2), 0)  # the first run that moved
    flow = analysis.gradient_flow(runs[fi].net, X, Y, loss, trajectory=runs[fi].trajectory, ks=runs[fi].history.k)
    cfg = {"network": describe_net(net),
           "d (parameters)": net.n_params, "S (samples)": S, "loss": loss.replace("_", " "),
           "w⁰": _vector_text(w0),
           "budget (sample-gradient equivalents: gradients + forward passes / 3)": budget, "seed": seed,
           "tol (‖∇E‖ ≤ tol stops)": "off" if tol is None else f"{tol:g}",
           "rtol (‖∇E‖ ≤ rtol·‖∇E(w⁰)‖ stops)": "off" if rtol is None else f"{rtol:g}", "E*": note,
           "methods": "; ".join(n for n, _ in specs)}
    cfg.update(config or {})
    return Comparison(runs, problem, w0, budget, E_ref, note, cfg, flow,
                      title or ("The lecture's toy problem: GD vs SGD vs mini-batch SGD" if toy
                                else "mlplab comparison"), flow_run=fi)


def describe_net(net) -> str:
    """'MLP 2–8–1, tanh hidden / sigmoid output, with biases' (no Python reprs)."""
    acts = [a.name for a in net.activations]
    hidden = sorted(set(acts[:-1]))
    act = (f"{', '.join(hidden)} hidden / {acts[-1]} output" if hidden else f"{acts[-1]} output")
    return f"MLP {'–'.join(map(str, net.layer_sizes))}, {act}, {'with' if net.bias else 'no'} biases"


def _vector_text(w) -> str:
    w = np.asarray(w, dtype=float).ravel()
    shown = ", ".join(f"{v:.4g}" for v in w[:6])
    return f"({shown}{', …' if w.size > 6 else ''})" + (f", {w.size} values" if w.size > 6 else "")


def hold_to_budget(result, trajectory, budget):
    """(result, trajectory, note): the run cut back to the records whose cost is within ``budget``.

    ``train`` stops at the first record whose cost reaches the budget, so a method
    with a line search (GD: a gradient plus the line search's forward passes per
    step) can overshoot it by up to one step. Here such a step is cut off at the
    budget and not taken: the run ends at its last record within the budget, whose
    w, E and ‖∇E‖ are the result, and the cost is that record's. ``note`` says what
    was cut ("" when nothing was).
    """
    h = result.history
    ge = np.asarray(h.grad_equivalents, dtype=float)
    if budget is None or not len(ge) or ge[-1] <= budget * (1 + 1e-12):
        return result, trajectory, ""
    keep = max(1, int(np.searchsorted(ge, budget * (1 + 1e-12), side="right")))
    over = float(ge[keep]) if keep < len(ge) else float(ge[-1])
    cut = History_slice(h, keep)
    cut.step_size[-1] = math.nan  # the step from the last kept record was not taken
    cut.ls_evals[-1] = 0
    traj = np.asarray(trajectory)[:keep] if len(trajectory) >= keep else np.asarray(trajectory)
    params = np.array(traj[-1] if len(traj) == keep else result.params, copy=True)
    k_last = int(cut.k[-1])
    note = (f"the step from w^{k_last} would have brought the cost to {over:.6g} > the budget {budget:g}: "
            f"its line search was cut off at the budget and the step not taken (the run ends at w^{k_last})")
    res = replace(result, params=params, loss=float(cut.loss[-1]), grad_norm=float(cut.grad_norm[-1]),
                  n_iter=k_last, cost=int(cut.cost[-1]), forward_evals=int(cut.forward_evals[-1])
                  if cut.forward_evals else 0, stop_reason="max_cost", history=cut,
                  epochs=float(cut.epoch[-1]))
    return res, traj, note


def History_slice(h, n: int):
    """A copy of history ``h`` with its first ``n`` records."""
    out = type(h)()
    for name in h.__dataclass_fields__:
        col = getattr(h, name)
        setattr(out, name, list(col[:n]) if len(col) >= n else list(col))
    return out


# --- export ------------------------------------------------------------------------------------


def history_table(runs) -> tuple[list[str], list[list]]:
    """(header, rows) of every record of every run: ``runs`` is a list of (name, History).

    Columns: run, k, epoch, cost (sample gradients), forward passes, cost in
    sample-gradient equivalents, E(w^k), ‖∇E(w^k)‖, the step size taken from w^k,
    line-search evaluations, capped, unbounded, time, and ‖∇_{W^ℓ}E(w^k)‖ per layer.
    """
    L = max((len(h.layer_grad_norms[0]) for _, h in runs if len(h) and len(h.layer_grad_norms)), default=0)
    head = ["run", "k", "epoch", "cost", "forward_evals", "grad_equivalents", "loss", "grad_norm", "step_size",
            "ls_evals", "capped", "unbounded", "time"] + [f"layer_{ell}_grad_norm" for ell in range(1, L + 1)]
    rows = []
    for name, h in runs:
        n = len(h)
        ge = np.asarray(h.grad_equivalents, dtype=float)

        def col(attr, default):
            c = getattr(h, attr, None)
            return c if c is not None and len(c) == n else [default] * n

        fwd, capped, unb, tm = col("forward_evals", 0), col("capped", False), col("unbounded", False), col("time", math.nan)
        for i in range(n):
            lg = list(h.layer_grad_norms[i]) if i < len(h.layer_grad_norms) else []
            rows.append([name, int(h.k[i]), float(h.epoch[i]), int(h.cost[i]), int(fwd[i]), float(ge[i]),
                         float(h.loss[i]), float(h.grad_norm[i]), float(h.step_size[i]), int(h.ls_evals[i]),
                         bool(capped[i]), bool(unb[i]), float(tm[i])] + [float(v) for v in lg]
                        + [math.nan] * (L - len(lg)))
    return head, rows


def write_history(path, runs) -> Path:
    """Write the recorded history of every run to ``path`` (.csv or .json); returns the path.

    ``runs``: a :class:`Comparison`, or a list of (name, :class:`mlplab.train.History`).
    CSV: one row per record, the columns of :func:`history_table` (a ``run`` column
    tells the runs apart; NaN/inf written as ``nan``/``inf``). JSON:
    ``{"runs": [{"name": ..., "history": {column: [...]}}]}`` with the columns of
    :meth:`mlplab.train.History.to_dict` (NaN/inf as null). Written atomically.
    """
    from mlplab.io import atomic_write

    path = Path(path)
    if isinstance(runs, Comparison):
        runs = [(r.name, r.history) for r in runs.runs]
    suffix = path.suffix.lower()
    if suffix == ".json":
        doc = {"format": "mlplab history", "version": 1,
               "columns": "k, epoch, loss = E(w^k), grad_norm = ‖∇E(w^k)‖, layer_grad_norms, step_size (of the step "
                          "from w^k), ls_evals, capped, cost (sample gradients), time, forward_evals, unbounded",
               "runs": [{"name": name, "history": _history_dict(h)} for name, h in runs]}
        data = json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8")
    elif suffix in (".csv", ".tsv"):
        head, rows = history_table(runs)
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="\t" if suffix == ".tsv" else ",", lineterminator="\n")
        w.writerow(head)
        for row in rows:
            w.writerow([repr(v) if isinstance(v, float) else str(v).lower() if isinstance(v, bool) else v
                        for v in row])
        data = buf.getvalue().encode("utf-8")
    else:
        raise ValueError(f"history file {str(path)!r}: use a .csv, .tsv or .json name")
    atomic_write(path, data)
    return path


def _history_dict(h) -> dict:
    if hasattr(h, "to_dict"):
        return h.to_dict()
    return {name: [None if isinstance(v, float) and not math.isfinite(v) else v for v in getattr(h, name)]
            for name in h.__dataclass_fields__}


def _grad_scale(problem: Problem, w0) -> float | None:
    """‖∇E(w^0)‖ on ``problem`` (the comparison's E, whatever objective the run trained), or None if not finite."""
    g = problem.value_and_grad(np.asarray(w0, dtype=np.float64))[1]
    n = float(np.linalg.norm(g))
    return n if np.isfinite(n) and n > 0 else None


def from_result(net, X, Y, result, loss: str = "squared", trajectory=None, name: str | None = None,
                config: dict | None = None, w0=None, hessian_max_d: int = 200_000,
                grad_scale: float | None = None) -> Comparison:
    """Wrap one finished ``train`` run as a :class:`Comparison` (for ``train --report``/``--plots``).

    ``grad_scale``: ‖∇E(w^0)‖ of the comparison's E (the sum of e^s, no regulariser) when neither
    ``w0`` nor a trajectory says where the run started (a saved model's stored first record): the
    stationary-point verdict then measures ‖∇E‖ on the same scale as the run's own report.

    ``trajectory`` is the (n_records, d) array from a
    :class:`mlplab.analysis.TrajectoryRecorder` passed as ``train``'s callback
    (optional: without it the surface is sliced along random directions
    instead of drawn with the path).
    """
    problem = Problem(net, X, Y, loss)
    traj = np.atleast_2d(result.params) if trajectory is None else np.asarray(trajectory)
    opt = result.optimizer
    run = Run(name or type(opt).__name__, opt, result, traj, net, theory=analysis.theory_rate(opt))
    lower = 0.0 if (isinstance(loss, str) and loss in NONNEGATIVE_LOSSES) else None
    E_ref, E_note = reference_below_best([result.history.loss], lower=lower)
    fit_run_rate(run, E_ref)
    w_start = traj[0] if w0 is None else np.asarray(w0)
    if net.n_params <= hessian_max_d:
        known = w0 is not None or len(traj) > 1  # a trajectory (or w0) says where the run started
        scale = _grad_scale(problem, w_start) if known else grad_scale
        run.stop = analysis.stationary_point(problem, result.params, grad_scale_name="‖∇E(w^0)‖", grad_scale=scale)
    cfg = {"network": describe_net(net), "d (parameters)": net.n_params, "S (samples)": problem.S,
           "loss": loss.replace("_", " "), "optimizer": run.name, "stop reason": str(result.stop_reason).replace("_", " ")}
    cfg.update(config or {})
    # the per-sample gradient flow at w^0 and at the final w (rows aligned with the history when recorded)
    path = traj if w0 is None else np.vstack([np.asarray(w0, dtype=traj.dtype)[None], traj])
    ks = list(result.history.k) if w0 is None and len(traj) == len(result.history) else None
    flow = analysis.gradient_flow(net, X, Y, loss, w=result.params, trajectory=path[:-1] if len(path) > 1 else None,
                                  ks=ks)
    comp = Comparison([run], problem, w_start, None, E_ref, E_note, cfg, flow, f"One run: {run.name}")
    if trajectory is None and w0 is None and len(traj) == 1:
        comp.start_label = "the final w"  # the only point known is where the run ended, not w^0
    return comp


def format_table(comp: Comparison) -> str:
    """The comparison table as plain text."""
    lines = [comp.title, f"for the rates: {comp.E_ref_note}", ""]
    head = f"{'method':<38} {'E(w)':>10} {'||grad E||':>10} {'steps':>6} {'cost':>6}  {'stopped':<18} fitted rate"
    lines += [head, "-" * len(head)]
    for row in comp.table():
        lines.append(f"{row['method']:<38} {row['E(w)']:>10.3e} {row['||grad E||']:>10.3e} {row['steps']:>6} "
                     f"{row['cost']:>6.0f}  {row['stopped']:<18} {row['fitted rate']}")
    lines.append("")
    for r in comp.runs:
        lines.append(f"{r.name}: lecture: {r.theory}")
        if r.budget_note:
            lines.append(f"  budget: {r.budget_note}")
        if r.stop is not None:
            lines.append(f"  where it stopped: {r.stop.message}")
    if comp.gradient_flow is not None:
        lines.append(f"gradient flow ({comp.runs[comp.flow_run].name}): {comp.gradient_flow.diagnosis.message}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m mlplab.compare``: print the default comparison's table (the figures: ``mlplab compare``)."""
    parser = argparse.ArgumentParser(
        prog="python -m mlplab.compare",
        description="Compare GD (exact line search), SGD (γ_k = 1/(k+1)) and mini-batch SGD on the lecture's "
                    "toy problem from the same w^0 with the same budget of sample-gradient evaluations. "
                    "For the HTML report and PNG figures use: mlplab compare --report FILE.html --plots DIR")
    parser.add_argument("--budget", type=int, default=1000, help="sample-gradient evaluations per method (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--history", metavar="FILE", help="write every run's recorded history here (.csv or .json)")
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error(f"--budget must be a positive integer, got {args.budget}")
    if args.history and Path(args.history).suffix.lower() not in (".csv", ".tsv", ".json"):
        parser.error(f"--history {args.history!r}: use a .csv or .json file name")
    comp = run_comparison(budget=args.budget, seed=args.seed)
    print(format_table(comp))
    if args.history:
        try:
            print(f"\nhistory: {write_history(args.history, comp)}")
        except OSError as exc:
            parser.exit(2, f"{parser.prog}: cannot write --history {args.history!r}: {exc.strerror or exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
