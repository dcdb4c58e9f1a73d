"""Build a :class:`~mlplab.compare.runs.Comparison`: several optimizers from one w^0 with one budget
(:func:`run_comparison`), or one finished ``train`` run (:func:`from_result`)."""

from __future__ import annotations

import inspect

import numpy as np

import mlplab
from mlplab import analysis
from mlplab.compare.reference import NONNEGATIVE_LOSSES, fit_run_rate, hold_to_budget, reference_below_best
from mlplab.compare.runs import Comparison, Run
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, MiniBatchSGD, inverse

__all__ = ["default_specs", "run_comparison", "from_result", "describe_net"]


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
