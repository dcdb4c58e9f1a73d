"""The front door: ``train(net, X, Y, loss, optimizer, …)`` = ``fit(Problem(net, X, Y, loss, …), optimizer, …)``,
the single loop every front end goes through (:mod:`mlplab.training`).

At each iteration k it (1) records E(w^k) and ∇E(w^k) when due — exact on all
samples, or the block estimate of the steps since the last record (``monitor``;
GD evaluates them at every w^k anyway), (2) checks the stopping rules, (3) draws
j_k or B_k as the optimizer asks, (4) computes the gradient on those samples by
backpropagation, (5) asks the optimizer for the step and applies it:
w^{k+1} = w^k + α_k d^k. The loop itself is :class:`mlplab.training.loop.Run`;
its parts (sampler, step kernels, monitor, budget) live in :mod:`mlplab.training`.

Stopping rules, in order: ‖∇E(w^k)‖₂ ≤ tol or ‖∇E(w^k)‖₂ ≤ rtol·‖∇E(w^0)‖₂
(the lecture's criterion ‖∇E(w^{k+1})‖₂ = 0, with an absolute or a relative
tolerance; checked at recorded iterations), iteration / epoch / cost budget,
wall-clock budget, a callback asking to stop, and a failed line search (no
decrease possible). When the gradient test passes right after a step along
which E was still decreasing at the line search's cap (``unbounded``), the run
stops as "unbounded", not "converged": ∇E vanished because w ran off towards
‖w‖ → ∞ (the toy problem's infimum), not at a stationary point. A non-finite
loss or step raises :class:`DivergenceError`, carrying the last finite weights,
which are also left in the network; so does a finite blow-up, E(w^k) (at a
recorded iterate: exact, or the block estimate, see ``monitor``) above
``diverge_factor`` · max(E(w^0), 1e-6 per sample) — GD with too large a constant step
can run E up to 1e305 without ever overflowing.

Cost axis: ``history.cost`` counts sample-gradient evaluations — GD costs S per
step, SGD 1, mini-batch |B_k|. Line searches evaluate E (a forward pass) and its
slope φ′ (a forward-mode pass), not gradients: ``history.forward_evals`` counts
those sample forward passes separately (φ: 1 per sample, (φ, φ′): 2).
``history.grad_equivalents`` = cost + forward_evals / 3 puts both on one axis
(a sample gradient = a forward and a backward pass ≈ 3 forward passes); figures
and the ``max_cost`` budget use it.
Evaluations made only to record the history or test the stopping rule (full E
and ∇E at w^k that no step uses, e.g. at the final w or every ``eval_every``
steps of a stochastic method) are not counted, so ``result.cost ==
history.cost[-1]``.
"""

from __future__ import annotations

from mlplab.objective import Problem
from mlplab.optim.optimizers import Optimizer, OptState
from mlplab.training.budget import FORWARD_PER_GRADIENT  # noqa: F401 (public here too)
from mlplab.training.records import Checkpoint, DivergenceError, History, TrainResult  # noqa: F401 (public here too)
from mlplab.training.run import fit


def train(net, X, Y, loss="squared", optimizer: Optimizer | None = None, *,
          max_iter: int | None = None, epochs: int | None = None, max_cost: int | None = None,
          tol: float | None = 1e-6, rtol: float | None = None,
          time_limit: float | None = None, eval_every: int | None = None, callback=None,
          seed=None, l2: float = 0.0, l1: float = 0.0, reduction: str = "sum", sample_weight=None,
          opt_state: OptState | None = None, monitor: str = "auto",
          checkpoint_every: int | None = None, on_checkpoint=None,
          resume: Checkpoint | None = None, diverge_factor: float | None = 1e6,
          progress: bool = False) -> TrainResult:
    """Minimise E(w) = Σ_s e(y^s, MLP(x^s; w)) (+ regulariser) over w, in place.

    Args:
        net: the :class:`mlplab.MLP`; its ``params`` are updated in place.
        X: (S, N_0) inputs; Y: targets as the loss accepts them (:mod:`mlplab.losses`).
        loss: loss name (default "squared", the lecture's).
        optimizer: :class:`~mlplab.optim.GD` (default, exact line search),
            :class:`~mlplab.optim.SGD`, :class:`~mlplab.optim.MiniBatchSGD`,
            :class:`~mlplab.optim.Momentum`, :class:`~mlplab.optim.Adam`.
        max_iter: maximum number of steps k.
        max_cost: stop at the first iteration whose cost in sample-gradient
            equivalents (cost + forward_evals / 3, see above) has reached this; a
            step is never split, so a line-searched step may overshoot it.
        epochs: maximum number of passes over the data (GD: one per step).
            With neither max_iter nor epochs nor time_limit, 200 epochs.
        tol: stop when ‖∇E(w^k)‖₂ ≤ tol (None or 0 disables it).
        rtol: stop when ‖∇E(w^k)‖₂ ≤ rtol·‖∇E(w^0)‖₂ (None or 0 disables it), w^0
            the first iterate of the run (of the original run after ``resume``).
            Scale-free: with ``reduction="sum"`` ‖∇E‖ grows with S, so an absolute
            tol means different things on different data.
        time_limit: wall-clock budget in seconds.
        eval_every: record E, ‖∇E‖ (and test tol) every this many steps.
            Default: every step for GD, once per epoch for stochastic methods —
            every few epochs where an epoch's steps cost less than a record (tiny
            networks on tiny data, see
            :func:`mlplab.training.monitor.default_eval_every`; never fewer than 100
            records in a step budget).
        callback: called as ``callback(record)`` with a dict of the recorded
            values (k, epoch, loss, grad_norm, layer_grad_norms, cost, time, and
            exact: whether loss and grad_norm are E, ∇E on all samples or the
            block estimate) at every record, plus ``last_step_size``, the α/γ of the step that
            produced w^k (NaN at the start); returning a true value stops
            training. The final record is passed too (its return value is then ignored).
        seed: seed of the sampling RNG (j_k, B_k), or a ``np.random.Generator``
            (continues its stream). Same seed → bit-identical run.
        l2, l1, reduction, sample_weight: the objective (see :class:`~mlplab.objective.Problem`):
            λ of (λ/2) Σ_ℓ ‖W^ℓ‖²_F, λ₁ of λ₁ Σ_ℓ Σ_ij |W^ℓ_ij| (its subgradient λ₁ sign(W^ℓ)
            in ∇E; one-sample SGD then steps by the array kernels, not the compiled loop),
            the sum or the mean over samples, the samples' weights c_s.
        opt_state: optimizer state from an earlier ``TrainResult.opt_state`` to
            continue from (its k keeps counting, so schedules go on); the
            budgets and ``history`` count this call's steps only.
        monitor: what a record of a stochastic method holds (:mod:`mlplab.training.monitor`).
            "auto" (default): the exact E(w^k), ∇E(w^k) on all samples at the first
            and the last iterate; between them the free block estimate — the mean
            of the block losses and block gradients of the steps since the previous
            record, scaled to the whole data set (as scikit-learn's loss curve) — and
            also the exact values where their work (S + a fixed overhead in sample
            gradients per pass, counted, not timed) keeps within 10 % of the steps'
            work. The tests (tol, rtol, diverge_factor) use the estimate between the
            ends, so a seed gives the same history on any machine. "epoch" (alias "full"): every
            record exact, one extra pass over the data each (not counted in cost).
            "batch": every record after the first is the estimate, the last too.
            ``history.exact`` says which records are exact. No setting changes the
            iterates or the step kernel. GD always records the exact values.
        checkpoint_every: call ``on_checkpoint(Checkpoint)`` at the start of
            every iteration k > 0 that is a multiple of this.
        on_checkpoint: receives a :class:`Checkpoint` snapshot (e.g. to save
            it with :func:`mlplab.io.save_checkpoint`).
        resume: a :class:`Checkpoint` of an earlier run with the same data,
            network architecture, optimizer and seed: training continues from it
            and ends bit-identical to the uninterrupted run; k, cost, history
            and the budgets continue from the checkpoint's values.
        diverge_factor: raise :class:`DivergenceError` when a recorded E(w^k)
            (exact, or the ``monitor="batch"`` estimate) exceeds
            ``diverge_factor`` · max(E(w^0), 1e-6·S) (1e-6 with ``reduction="mean"``:
            a start that already fits, E(w^0) ≈ 0, must not call ordinary noise a
            divergence), w^0 the first iterate of the run (of the original run
            after ``resume``). Default 1e6; None disables the test (inf/NaN
            still raise).
        progress: show a progress bar with E, ‖∇E‖ and the step size at every record —
            tqdm's (``tqdm.auto``: a widget in Jupyter, text in a terminal) when tqdm is
            installed, else Rich's. Off by default; when off, nothing is added to the loop.

    Returns:
        :class:`TrainResult`.

    Raises:
        DivergenceError: the loss or a step became non-finite, or a recorded E(w^k)
            exceeded ``diverge_factor`` · max(E(w^0), 1e-6 per sample). Its ``params`` (also
            left in the network) are the last weights whose E was finite and
            below that bound.
    """
    problem = Problem(net, X, Y, loss, l2=l2, l1=l1, reduction=reduction, sample_weight=sample_weight)
    return fit(problem, optimizer, max_iter=max_iter, epochs=epochs, max_cost=max_cost, tol=tol, rtol=rtol,
               time_limit=time_limit, eval_every=eval_every, callback=callback, seed=seed, opt_state=opt_state,
               monitor=monitor, checkpoint_every=checkpoint_every, on_checkpoint=on_checkpoint, resume=resume,
               diverge_factor=diverge_factor, progress=progress)
