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
and where each run stopped; :mod:`mlplab.report` and :mod:`mlplab.plots` draw it.

    python -m mlplab.compare [--budget 1000] [--out report.html] [--plots DIR]

runs the default comparison on the lecture's toy problem. NumPy/SciPy only:
matplotlib / Plotly are imported only for ``--plots`` / ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

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
        gradient_flow: :class:`mlplab.analysis.GradientFlow` of the first run, per sample, at
            its w^0 and its final w (the verdict and the factors drawn beside it).
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


# the cost axis of every figure, with its rule (see mlplab.train: FORWARD_PER_GRADIENT)
COST_LABEL = "cost: sample-gradient equivalents (gradients + line-search forward passes / 3)"


E_MARGIN = 1e-3  # Δ is at least this fraction of E(w^0) − E_best


def reference_below_best(losses) -> tuple[float, str]:
    """E* for E − E* when the infimum is unknown: E_best − Δ, with its note.

    E_best is the smallest E(w^k) any run recorded; taking E* = E_best would make
    E − E* plunge to 0 at that record (a fake acceleration at a run's own best
    point). Δ = max(d, 10⁻³·(E(w^0) − E_best)), where d is the decrease of E into
    that record, so E − E* ≥ Δ > 0 everywhere and falls at most 2× at that record
    because of E*.

    Args:
        losses: per run, its recorded E(w^k) (1-D, the first is E(w^0)).
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
                                  tol=tol, rtol=rtol, eval_every=1, callback=rec, seed=seed)
        except mlplab.DivergenceError as exc:
            raise ValueError(f"{name} diverged: {exc}") from exc
        runs.append(Run(name, opt, result, rec.finish(result), run_net, theory=analysis.theory_rate(opt)))

    if E_ref is None:
        if problem.d == 2 and toy:
            E_ref, note = 0.0, "E* = 0, the infimum (separable data: approached only as ‖w‖ → ∞)"
        else:
            E_ref, note = reference_below_best([r.history.loss for r in runs])
    else:
        E_ref = float(E_ref)
        note = f"E* = {E_ref:.6g} (given)"
    g0 = _grad_scale(problem, w0)  # every run starts at w^0: ‖∇E(w^0)‖ is the scale ‖∇E‖ is judged by
    for r in runs:
        fit_run_rate(r, E_ref, rate_window)
        if problem.d <= hessian_max_d:
            r.stop = analysis.stationary_point(problem, r.result.params, grad_scale=g0, grad_scale_name="‖∇E(w^0)‖")
    flow = analysis.gradient_flow(runs[0].net, X, Y, loss, trajectory=runs[0].trajectory, ks=runs[0].history.k)
    cfg = {"network": f"MLP{list(net.layer_sizes)}, activations "
                      f"{[a.name for a in net.activations]}, bias={net.bias}",
           "d (parameters)": net.n_params, "S (samples)": S, "loss": loss,
           "w^0": np.array2string(w0, precision=4, threshold=8),
           "budget (sample-gradient equivalents: gradients + forward passes / 3)": budget, "seed": seed,
           "tol": tol, "rtol": rtol, "E*": note,
           "methods": "; ".join(f"{n}: {o!r}" for n, o in specs)}
    cfg.update(config or {})
    return Comparison(runs, problem, w0, budget, E_ref, note, cfg, flow,
                      title or ("The lecture's toy problem: GD vs SGD vs mini-batch SGD" if toy
                                else "mlplab comparison"))


def _grad_scale(problem: Problem, w0) -> float | None:
    """‖∇E(w^0)‖ on ``problem`` (the comparison's E, whatever objective the run trained), or None if not finite."""
    g = problem.value_and_grad(np.asarray(w0, dtype=np.float64))[1]
    n = float(np.linalg.norm(g))
    return n if np.isfinite(n) and n > 0 else None


def from_result(net, X, Y, result, loss: str = "squared", trajectory=None, name: str | None = None,
                config: dict | None = None, w0=None, hessian_max_d: int = 200_000) -> Comparison:
    """Wrap one finished ``train`` run as a :class:`Comparison` (for ``train --report``/``--plots``).

    ``trajectory`` is the (n_records, d) array from a
    :class:`mlplab.analysis.TrajectoryRecorder` passed as ``train``'s callback
    (optional: without it the surface is sliced along random directions
    instead of drawn with the path).
    """
    problem = Problem(net, X, Y, loss)
    traj = np.atleast_2d(result.params) if trajectory is None else np.asarray(trajectory)
    opt = result.optimizer
    run = Run(name or type(opt).__name__, opt, result, traj, net, theory=analysis.theory_rate(opt))
    E_ref, E_note = reference_below_best([result.history.loss])
    fit_run_rate(run, E_ref)
    w_start = traj[0] if w0 is None else np.asarray(w0)
    if net.n_params <= hessian_max_d:
        known = w0 is not None or len(traj) > 1  # a trajectory (or w0) says where the run started
        run.stop = analysis.stationary_point(problem, result.params, grad_scale_name="‖∇E(w^0)‖",
                                             grad_scale=_grad_scale(problem, w_start) if known else None)
    cfg = {"network": f"MLP{list(net.layer_sizes)}, activations {[a.name for a in net.activations]}, "
                      f"bias={net.bias}", "d (parameters)": net.n_params, "S (samples)": problem.S,
           "loss": loss, "optimizer": repr(opt), "stop reason": result.stop_reason}
    cfg.update(config or {})
    # the per-sample gradient flow at w^0 and at the final w (rows aligned with the history when recorded)
    path = traj if w0 is None else np.vstack([np.asarray(w0, dtype=traj.dtype)[None], traj])
    ks = list(result.history.k) if w0 is None and len(traj) == len(result.history) else None
    flow = analysis.gradient_flow(net, X, Y, loss, w=result.params, trajectory=path[:-1] if len(path) > 1 else None,
                                  ks=ks)
    comp = Comparison([run], problem, w_start, None, E_ref, E_note, cfg, flow, f"mlplab run: {run.name}")
    if trajectory is None and w0 is None and len(traj) == 1:
        comp.start_label = "the final w"  # the only point known is where the run ended, not w^0
    return comp


@dataclass
class SurfaceView:
    """A loss surface with the runs' paths in its plane.

    Attributes:
        surface: :class:`mlplab.analysis.Surface`.
        paths: per run, (n_records, 3) array of (a, b, E) — plane coordinates
            and E at the (projected) point, i.e. the height on the drawn surface.
        note: how the plane was chosen.
        slice_1d: (a, E) along the first direction through the centre (1-D slice; None for d = 2).
    """

    surface: analysis.Surface
    paths: list[np.ndarray]
    note: str
    slice_1d: tuple[np.ndarray, np.ndarray] | None


def comparison_surface(comp: Comparison, n: int = 101, seed: int = 0) -> SurfaceView:
    """The surface to draw for a comparison, vectorised over the grid.

    d = 2 (the toy problem): E over (w_1, w_2) on a grid covering
    [−6, 6]² and every path. Larger nets: the plane through the first run's
    final w spanned by the principal directions of all paths (PCA); with no
    path (a single point), two random filter-normalised directions (Li et al. 2018).
    """
    problem = comp.problem
    trajs = [r.trajectory for r in comp.runs]
    if problem.d == 2:
        allw = np.vstack(trajs + [np.array([[-6.0, -6.0], [6.0, 6.0]])])
        lo, hi = allw.min(axis=0), allw.max(axis=0)
        pad = 0.08 * (hi - lo)
        surf = analysis.param_surface(problem, 0, 1, (lo[0] - pad[0], hi[0] + pad[0]),
                                      (lo[1] - pad[1], hi[1] + pad[1]), n=n, w0=np.zeros(2))
        note = "E over the whole parameter space (w11, w12), as on the slides"
    else:
        centre = comp.runs[0].result.params
        stacked = np.vstack(trajs)
        if len(stacked) >= 3 and np.ptp(stacked, axis=0).max() > 0:
            u, v, expl = analysis.pca_directions(stacked, centre)
            kind = "pca"
            note = (f"E on the plane through the final w of {comp.runs[0].name} spanned by the paths' two "
                    f"principal directions (explaining {expl[0]:.0%} and {expl[1]:.0%} of their variance)")
            tmp = analysis.Surface(np.zeros(1), np.zeros(1), np.zeros((1, 1)), centre, u, v, ("", ""), kind)
            ab = tmp.project(stacked)
            lo, hi = ab.min(axis=0), ab.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1e-3)
            ra, rb = (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])
        else:
            net = comp.runs[0].net
            u = analysis.random_direction(net, centre, seed)
            v = analysis.random_direction(net, centre, seed + 1)
            kind, ra, rb = "random", (-1.0, 1.0), (-1.0, 1.0)
            note = "E along two random filter-normalised directions (Li et al. 2018) through the final w"
        surf = analysis.direction_surface(problem, centre, u, v, ra, rb, n=n, kind=kind)
    paths = []
    for t in trajs:
        ab = surf.project(t)
        paths.append(np.column_stack([ab, surf.E_at(problem, t)]))
    sa = None if problem.d == 2 else analysis.direction_slice(problem, surf.w0, surf.u, (surf.a[0], surf.a[-1]), n=201)
    return SurfaceView(surf, paths, note, sa)


def infimum_curve(comp: Comparison, radii=None):
    """For d = 2: (r, min_{‖w‖=r} E) — decreasing to 0, so the infimum lies at ‖w‖ → ∞. None otherwise."""
    if comp.problem.d != 2:
        return None
    radii = np.geomspace(0.25, 16.0, 30) if radii is None else radii
    r, Emin, _ = analysis.radial_minimum(comp.problem, radii)
    return r, Emin


def decision_view(comp: Comparison, run_index: int | None = None):
    """(run, xs, ys, P) for the decision-boundary figures: ŷ over the 2-D input plane for the
    run ``run_index`` (default: the one with the lowest final E), see
    :func:`mlplab.analysis.decision_grid`; None unless N_0 = 2."""
    if comp.problem.net.n_inputs != 2:
        return None
    if run_index is None:
        run_index = int(np.argmin([r.result.loss for r in comp.runs]))
    run = comp.runs[run_index]
    return (run, *analysis.decision_grid(run.net, comp.problem.X))


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
        if r.stop is not None:
            lines.append(f"  where it stopped: {r.stop.message}")
    if comp.gradient_flow is not None:
        lines.append(f"gradient flow: {comp.gradient_flow.diagnosis.message}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlplab.compare",
        description="Compare GD (exact line search), SGD (γ_k = 1/(k+1)) and mini-batch SGD on the lecture's "
                    "toy problem from the same w^0 with the same budget of sample-gradient evaluations.")
    parser.add_argument("--budget", type=int, default=1000, help="sample-gradient evaluations per method (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--out", metavar="report.html", help="write the interactive HTML report here")
    parser.add_argument("--plots", metavar="DIR", help="write the figures as PNG files into DIR")
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error(f"--budget must be a positive integer, got {args.budget}")
    comp = run_comparison(budget=args.budget, seed=args.seed)
    print(format_table(comp))
    try:
        if args.out:
            from mlplab.report import write_report
            print(f"\nreport: {write_report(args.out, comp)}")
        if args.plots:
            from mlplab.plots import save_pngs
            paths = save_pngs(args.plots, comp)
            print(f"figures: {', '.join(str(p) for p in paths)}")
    except ModuleNotFoundError as exc:
        parser.exit(1, f"{parser.prog}: --out needs plotly and --plots needs matplotlib ({exc}); "
                       "install them with: pip install 'mlplab[viz]'\n")
    return 0


RUN_COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def run_color(i: int) -> str:
    """The colour of run i in every figure (matplotlib and Plotly alike)."""
    return RUN_COLORS[i % len(RUN_COLORS)]


RUN_DASHES = [("-", "solid"), ("--", "dash"), (":", "dot"), ("-.", "dashdot"), ((0, (5, 1, 1, 1, 1, 1)), "longdashdot"),
              ((0, (8, 3)), "longdash")]
RUN_MARKERS = [("o", "circle"), ("s", "square"), ("^", "triangle-up"), ("D", "diamond"), ("v", "triangle-down"),
               ("x", "x"), ("P", "cross"), ("*", "star")]
FEW_POINTS = 30  # a run with at most this many records gets a marker on every point


def run_dash(i: int, plotly: bool = False):
    """The line style of run i (matplotlib ``linestyle``, or Plotly ``dash`` name)."""
    return RUN_DASHES[i % len(RUN_DASHES)][1 if plotly else 0]


def run_marker(i: int, plotly: bool = False) -> str:
    """The marker of run i (matplotlib marker, or Plotly ``symbol`` name)."""
    return RUN_MARKERS[i % len(RUN_MARKERS)][1 if plotly else 0]


def longest_run(comp: Comparison) -> int:
    """Index of the run with the most records (default for the per-layer figures)."""
    return int(np.argmax([len(r.history) for r in comp.runs]))


HISTORY_FIGURES = ("convergence_cost", "convergence_k", "grad_norm", "step_sizes", "layer_grad_norms",
                   "layer_heatmap")


def figure_plan(comp: Comparison, view: SurfaceView | None = None) -> list[tuple[str, str, tuple]]:
    """(figure name, plotting function name, arguments after ``comp``) of every figure that applies.

    Shared by :func:`mlplab.plots.figures` (matplotlib) and :func:`mlplab.report.figures`
    (Plotly), which define functions of these names. A comparison whose runs each
    recorded a single point (e.g. a saved model without history) gets no curves
    over the iterations. ``view``: the :func:`comparison_surface` when the caller has it.
    """
    view = comparison_surface(comp) if view is None else view
    plan = [("surface_3d", "surface_3d", (view,)), ("contour", "contour", (view,)),
            ("slice_1d", "slice_1d", (view,)), ("infimum", "infimum", ()),
            ("convergence_cost", "convergence", ("cost",)), ("convergence_k", "convergence", ("k",)),
            ("grad_norm", "grad_norms", ()), ("step_sizes", "step_sizes", ()),
            ("layer_grad_norms", "layer_grad_norms", ()), ("layer_heatmap", "layer_heatmap", ()),
            ("gradient_flow", "bound_factors", ()), ("decision_boundary", "decision_boundary", ())]
    if not any(len(r.history) >= 2 for r in comp.runs):
        plan = [step for step in plan if step[0] not in HISTORY_FIGURES]
    return plan


if __name__ == "__main__":
    sys.exit(main())
