"""Setting up a run of the loop: :func:`start` checks the options and builds the parts
(sampler, budget, monitor, the state to continue from); :func:`fit` runs it to the end.

:func:`mlplab.train` is ``fit(Problem(net, X, Y, loss, …), optimizer, …)``; a front end that
needs its own objective (the scikit-learn estimators' weighted E_B) or steps a run a few
iterations at a time (the playground: ``run.loop(max_steps=n)``) calls these directly.
"""

from __future__ import annotations

import copy

import numpy as np

from mlplab._checks import check_int, check_real, make_rng
from mlplab.optim.optimizers import GD, Optimizer, OptState
from mlplab.training.budget import Budget
from mlplab.training.loop import Run
from mlplab.training.monitor import MODES, Monitor, default_eval_every
from mlplab.training.progress import ProgressBar
from mlplab.training.records import Checkpoint
from mlplab.training.sampler import Sampler


def fit(problem, optimizer: Optimizer | None = None, **options):
    """Minimise the problem's E(w) from ``problem.net.params``, in place: :func:`start`, then the
    loop to its stop; returns the :class:`~mlplab.training.records.TrainResult` (options: see
    :func:`mlplab.train`)."""
    run = start(problem, optimizer, **options)
    bar = run.progress_bar
    try:
        run.loop()
    finally:
        if bar is not None:
            bar.close(run.k)
    return run.result()


def start(problem, optimizer: Optimizer | None = None, *, max_iter: int | None = None,
          epochs: int | None = None, max_cost: int | None = None, tol: float | None = 1e-6,
          rtol: float | None = None, time_limit: float | None = None, eval_every: int | None = None,
          callback=None, seed=None, opt_state: OptState | None = None, monitor: str = "auto",
          checkpoint_every: int | None = None, on_checkpoint=None, resume: Checkpoint | None = None,
          diverge_factor: float | None = 1e6, progress: bool = False, records: bool = True) -> Run:
    """A :class:`~mlplab.training.loop.Run` at w^0 = ``problem.net.params`` (or ``resume``'s w),
    its options checked; ``run.loop()`` trains (see :func:`mlplab.train` for the options).

    ``records=False``: the loop records nothing (no E, ∇E on all samples at w^0 or at the end, no
    gradient test, no callback) — for a caller that keeps its own per-epoch bookkeeping (the
    scikit-learn estimators' solvers "sgd" and "adam"); the budgets, the divergence tests on the
    steps and the checkpoints still apply."""
    optimizer = GD() if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an mlplab.optim optimizer such as GD() or SGD(); got {optimizer!r}")
    max_iter = None if max_iter is None else check_int("max_iter", max_iter, low=0)
    max_cost = None if max_cost is None else check_int("max_cost", max_cost, low=0)
    epochs = None if epochs is None else check_int("epochs", epochs, low=0)
    eval_every = None if eval_every is None else check_int("eval_every", eval_every, low=1)
    tol = None if tol is None else check_real("tol (or None)", tol, low=0.0)
    rtol = None if rtol is None else check_real("rtol (or None)", rtol, low=0.0)
    if time_limit is not None:
        time_limit = check_real("time_limit (seconds)", time_limit, low=0.0, low_open=True)
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable, got {callback!r}")
    if monitor not in MODES:
        raise ValueError(f"monitor must be 'auto', 'epoch' (or 'full') or 'batch', got {monitor!r}")
    checkpoint_every = None if checkpoint_every is None else check_int("checkpoint_every", checkpoint_every, low=1)
    if checkpoint_every is not None and not callable(on_checkpoint):
        raise ValueError(f"checkpoint_every needs a callable on_checkpoint, got {on_checkpoint!r}")
    if diverge_factor is not None:
        diverge_factor = check_real("diverge_factor (or None)", diverge_factor, low=1.0, low_open=True)
    if resume is not None and not isinstance(resume, Checkpoint):
        raise ValueError(f"resume must be a mlplab.train.Checkpoint, got {type(resume).__name__}")

    rng = make_rng(seed)
    sampler = Sampler(problem.S, optimizer.batch_size, optimizer.sampling, rng)
    budget = Budget(sampler, max_iter=max_iter, epochs=epochs, max_cost=max_cost, time_limit=time_limit)
    if eval_every is None:
        eval_every = default_eval_every(sampler, problem.d, budget.max_steps)
    w = problem.net.params
    state = optimizer.init(w) if opt_state is None else check_opt_state(opt_state, optimizer.init(w))
    history, counters, monitor_state = None, None, None
    if resume is not None:
        state, counters, history, monitor_state = _resume(resume, w, optimizer, rng, sampler)
    monitor = Monitor(monitor, problem, full=sampler.b is None, state=monitor_state)
    bar = None
    if progress:  # the bar is fed by the callback, at records only: no per-step work
        bar = callback = ProgressBar(budget.max_steps, callback)
    run = Run(problem, optimizer, sampler, rng, budget, monitor, state=state, history=history,
              eval_every=eval_every, tol=tol, rtol=rtol, callback=callback, checkpoint_every=checkpoint_every,
              on_checkpoint=on_checkpoint, diverge_factor=diverge_factor, counters=counters, records=records)
    run.progress_bar = bar
    return run


def _resume(resume: Checkpoint, w, optimizer, rng, sampler):
    """Put w, the RNG and the sampler where the checkpoint left them; its state, counters, history."""
    if resume.params.shape != w.shape or resume.params.dtype != w.dtype:
        raise ValueError(f"resume: the checkpoint's parameters (shape {resume.params.shape}, dtype "
                         f"{resume.params.dtype}) do not fit this network (d = {w.size}, {w.dtype})")
    w[...] = resume.params
    state = check_opt_state(resume.opt_state, optimizer.init(w))
    counters = (resume.k, resume.cost, resume.seen, resume.forward_evals, resume.elapsed)
    try:
        rng.bit_generator.state = resume.rng_state
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"resume: the checkpoint's RNG state does not fit this run ({exc})") from None
    sampler.pos = resume.sampler_pos
    sampler.order = None if resume.sampler_order is None else np.array(resume.sampler_order)
    return state, counters, copy.deepcopy(resume.history), getattr(resume, "monitor_state", None)


def check_opt_state(state, fresh: OptState) -> OptState:
    """A state to continue from must come from this optimizer kind and this network."""
    if not isinstance(state, OptState):
        raise ValueError(f"opt_state must be a TrainResult.opt_state, got {state!r}")
    if set(state.slots) != set(fresh.slots):
        raise ValueError(f"opt_state holds buffers {sorted(state.slots)} but this optimizer uses "
                         f"{sorted(fresh.slots)}; pass the state of a run with the same optimizer")
    for name, buf in state.slots.items():
        ref = fresh.slots[name]
        if not isinstance(buf, np.ndarray) or buf.shape != ref.shape or buf.dtype != ref.dtype:
            raise ValueError(f"opt_state buffer {name!r} does not match the network's parameters "
                             f"(shape {ref.shape}, dtype {ref.dtype}); pass the state of a run on this network")
    return state
