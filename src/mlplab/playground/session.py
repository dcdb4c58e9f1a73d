"""One playground session: a network, its data and a run of the one training loop, stepped in slices.

The session drives :mod:`mlplab.training` as every front end does::

    run = training.start(problem, optimizer, eval_every=1, monitor="epoch", tol=None, callback=…)
    run.loop(max_steps=1)   # record w^k (exact E, ∇E: the callback); sample B_k; step to w^{k+1}; pause

one iteration per call, so that a pause, a reset or a closed tab takes effect within one
iteration and the compared methods keep in step, iteration for iteration. A paused loop records
w^{k+1} when it goes on; the session shows it at once from one more evaluation of E, ∇E (tested
for a blow-up by the run, as its own record would be), which the loop's record then replaces.
A divergence or a failed line search stops the session at the last good w^k, with a message.

Memory is bounded: the rows of the history and the snapshots of w for the scrubber are
:class:`~mlplab.playground.history.Thinned` (a cap on the number of floats the snapshots hold),
and the run's own history is cut to its latest record as the session goes. All public methods
hold the session's lock, so the server may call them from worker threads while a download reads
the network. The frames are drawn by :mod:`.frames`, the downloads written by :mod:`.downloads`.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
import time
from dataclasses import replace

import numpy as np

from mlplab.objective import Problem
from mlplab.playground import downloads
from mlplab.playground.build import (describe_method, describe_regulariser, make_network, make_optimizer,
                                     robbins_monro_text, split_data)
from mlplab.playground.config import OPTIMIZERS, Config, FormError, load_data, n_classes
from mlplab.playground.frames import build_frame
from mlplab.playground.history import MAX_RECORDS, RECENT, Thinned
from mlplab.training import DivergenceError, start

# (still importable from here: the names this module held before frames, landscape and build took them)
from mlplab.playground.build import make_schedule, schedule_text  # noqa: E402,F401
from mlplab.playground.frames import (GRID, MAP_GRID, MAX_EDGES, MAX_MAPS, PLOT_POINTS,  # noqa: E402,F401
                                     network_diagram)
from mlplab.playground.landscape import PHI_POINTS, PLANE_GRID, SURFACE_GRID  # noqa: E402,F401

SNAPSHOT_FLOATS = 1_000_000  # floats of w kept for the scrubber (at most MAX_RECORDS snapshots)
DIVERGE_FACTOR = 1e6  # the run stops when E(w^k) > DIVERGE_FACTOR · E(w^0)
NO_LIMIT = 2**62  # the run's step budget: a playground run goes on until it is paused, reset or stopped
STEP_ERRORS = (ValueError, FloatingPointError, OverflowError)  # an update that cannot be computed
FORGET_AFTER = 256  # records the run's own history holds before it is cut to the latest one


class Session:
    """A playground run; ``configure`` (re)builds it, ``step`` advances it, ``frame`` draws it."""

    def __init__(self, cfg: Config | None = None, upload=None):
        self.lock = threading.RLock()
        self.upload = upload
        self.view = {"x": "iteration", "log": True}
        self.configure(cfg or Config())

    # --- building --------------------------------------------------------------------------

    def configure(self, cfg: Config, upload=None) -> None:
        """Build data, network, problem and optimizer for cfg; on FormError nothing changes."""
        with self.lock:
            upload = upload if upload is not None else self.upload
            try:
                X, y, task = load_data(cfg, upload)
            except ValueError as exc:
                if isinstance(exc, FormError):
                    raise
                raise FormError({"dataset": str(exc)}) from None
            K = n_classes(y, task)
            X, y, X_test, y_test = split_data(X, y, cfg)
            net, loss = make_network(cfg, task, X.shape[1], K)
            try:
                problem = Problem(net, X, y, loss, l2=cfg.l2, l1=cfg.l1, reduction="sum")
                # the held-out samples' loss, the data term only, scaled to the training set's S
                test = None if X_test is None else Problem(net, X_test, y_test, loss, reduction="sum")
            except ValueError as exc:
                raise FormError({"loss": str(exc)}) from None
            optimizer = make_optimizer(cfg, problem.S)
            others = []
            for method in cfg.compare:  # side by side: the same data, network and w^0, another method
                if method == cfg.optimizer:
                    continue
                try:
                    others.append(Session(replace(cfg, optimizer=method, compare=[]), upload))
                except FormError as exc:
                    raise FormError({"compare": f"{OPTIMIZERS[method]}: {'; '.join(exc.errors.values())}"}) from None
            self.others = others
            self.cfg, self.upload = cfg, upload
            self.X, self.y, self.task, self.K = X, y, task, K
            self.net, self.problem, self.optimizer = net, problem, optimizer
            self.test_problem = test
            self.w0 = net.params.copy()
            self._reset()

    def reset(self) -> None:
        """Back to w^0 (the same w^0), k = 0, fresh optimizer state and sampling RNG (compared runs too)."""
        with self.lock:
            self._reset()
            for other in self.others:
                other.reset()

    def _reset(self):
        self.w = self.net.params  # w^k: the run steps the network's parameters in place
        self.w[...] = self.w0
        self.run = start(self.problem, self.optimizer, max_iter=NO_LIMIT, eval_every=1, monitor="epoch", tol=None,
                         diverge_factor=DIVERGE_FACTOR, callback=self._on_record,
                         seed=np.random.default_rng([self.cfg.seed, 1]))  # the sampling RNG (w^0 uses the seed)
        self.k = 0
        self.stopped = ""  # why stepping stopped (divergence, failed line search), "" while it can go on
        self.records = Thinned()
        d = self.problem.d
        self.snapshots = Thinned(cap=min(MAX_RECORDS, max(16, SNAPSHOT_FLOATS // max(d, 1))),
                                 recent=min(RECENT, max(8, SNAPSHOT_FLOATS // max(d, 1) // 3)))
        self.latest_step = None  # (j, StepInfo) of the latest step w^j → w^{j+1} (its line search's details)
        self._show()
        self.E0 = self.E

    def test_loss(self, w):
        """E_test(w)·S/S_test: the held-out loss on the training sum's scale (None without a test set)."""
        T = self.test_problem
        if T is None:
            return None
        return float(T.value(w)) * self.problem.S / T.S

    # --- stepping ----------------------------------------------------------------------------

    def step(self, n: int = 1, budget_s: float | None = None) -> int:
        """Take up to n iterations (fewer when ``budget_s`` seconds pass or training stops); returns how many."""
        with self.lock, np.errstate(all="ignore"):
            t0, k0 = time.perf_counter(), self.k
            sessions = [self, *self.others]
            while self.k - k0 < n and not self.stopped:
                for s in sessions:  # the compared methods keep in step, iteration for iteration
                    if not s.stopped:
                        s._advance()
                if budget_s is not None and time.perf_counter() - t0 > budget_s:
                    break
            for s in sessions:
                s._show()
            return self.k - k0

    def _advance(self) -> None:
        """One iteration of the loop: record w^k, sample B_k, step to w^{k+1}, pause there."""
        run = self.run
        try:
            done = run.loop(max_steps=1)
        except DivergenceError as exc:
            self._stop(self._diverged_text(exc))
            return
        except STEP_ERRORS as exc:
            self._stop(f"the step failed: {exc}")
            return
        finally:
            if len(run.history) > FORGET_AFTER:
                _forget(run.history)
        if not done:
            self.k = run.k
        elif run.stop_reason == "line_search_failed":  # α_k = 0: w^{k+1} = w^k is not shown as a new iterate
            self._stop(self._no_decrease_text())
        else:  # (no tolerance and no budget is set: not expected)
            self._stop(f"stopped at step {self.records.last_k()}: {run.stop_reason}")

    def _on_record(self, record: dict) -> None:
        """The loop's record of w^k (the callback): the session's row of w^k and its snapshot."""
        if self.run.stop_reason is None:  # (the final record after a failed line search repeats w^k)
            self._add_row(record["k"], record["loss"], record["grad_norm"], record["layer_grad_norms"])

    def _add_row(self, k: int, E: float, gnorm: float, layers) -> None:
        """The row of w^k (k, cost, E, ‖∇E‖, ‖∇_{W^ℓ}E‖, E_test) and a snapshot of w^k; the row before
        it gets the step size of the step from w^{k−1}. A row for the latest k takes the new numbers."""
        run, rows = self.run, self.records
        numbers = {"loss": float(E), "grad_norm": float(gnorm), "layers": [float(v) for v in layers]}
        if rows.last_k() == k:  # the loop's own record of the w^k shown since the pause
            rows.rows[-1][1].update(numbers)
            return
        if rows.last_k() is not None:
            rows.rows[-1][1]["step_size"] = float(run.last_step)
            self.latest_step = (k - 1, run.last_info)
        rows.add(k, {"k": k, "cost": run.cost + run.fwd / 3.0, "loss": numbers["loss"],
                     "grad_norm": numbers["grad_norm"], "step_size": math.nan, "layers": numbers["layers"],
                     "test_loss": self.test_loss(run.w)})
        self.snapshots.add(k, run.w.copy())

    def _show(self) -> None:
        """E(w^k), ∇E(w^k) of the iterate shown; its row, when the paused loop has not recorded it yet.
        A blow-up is found here as the loop's record would find it (the run's own test)."""
        E, g = self.problem.value_and_grad(self.w)
        if not self.stopped and self.records.last_k() != self.k:
            try:
                if self.k > 0:
                    if not math.isfinite(E):
                        self.run.diverged(f"E(w) = {E}", keep_current=False)
                    self.run.check_blow_up(E)
                layers = [math.sqrt(float(g[sl.W] @ g[sl.W])) for sl in self.net.slices]
                self._add_row(self.k, E, math.sqrt(float(g @ g)), layers)
            except DivergenceError as exc:  # w is back at the last good w^k
                self._stop(self._diverged_text(exc))
                E, g = self.problem.value_and_grad(self.w)
        self.E, self.g = float(E), g.copy()

    def _stop(self, message: str) -> None:
        self.stopped = message
        self.k = self.records.last_k()

    def _diverged_text(self, exc: DivergenceError) -> str:
        m = re.search(r"diverged at iteration \d+: (.*?)\. The last good weights", str(exc), re.S)
        what = m.group(1) if m else str(exc)
        return f"diverged at step {self.records.last_k()}: {what}; reset or lower the step size"

    def _no_decrease_text(self) -> str:
        k = self.records.last_k()
        row = self.records.get(k)
        return (f"stopped at step {k}: the line search found no decrease along −∇E — φ(α) is flat to "
                f"rounding on (0, α_max] (E = {row['loss']:.6g}, ‖∇E‖ = {row['grad_norm']:.2g}); "
                "w^k is stationary to rounding, reset or change the method to go on")

    def step_info(self, j: int):
        """The line search's details (a StepInfo) of the step from w^j, if it is the latest step; else None."""
        latest = self.latest_step
        return latest[1] if latest is not None and latest[0] == j else None

    # --- downloads ------------------------------------------------------------------------------

    def model_bytes(self) -> bytes:
        """The current network w^k as an mlplab model file (``mlplab.save``), as bytes."""
        with self.lock:
            net = self.net.copy()
            extra = {"playground": {"config": self.cfg.to_dict(), "k": self.k, "loss": float(self.E)}}
            if self.task == "classification" and self.K:
                extra["playground"]["classes"] = list(range(self.K))
        return downloads.model_bytes(net, extra)

    def history_csv(self) -> str:
        """The (thinned) history as CSV (see :func:`.downloads.history_csv`)."""
        with self.lock:
            rows = [r for _, r in self.records.rows]
            L = self.net.n_layers
            test = self.test_problem is not None
        return downloads.history_csv(rows, L, test)

    # --- drawing ---------------------------------------------------------------------------------

    def status(self) -> dict:
        with self.lock:
            cfg = self.cfg
            opt = self.optimizer
            sched = getattr(opt, "schedule", None) or getattr(getattr(opt, "base", None), "schedule", None)
            rm = robbins_monro_text(sched) if sched is not None else ""
            return {"k": self.k, "loss": float(self.E), "grad_norm": float(np.linalg.norm(self.g)),
                    "stopped": self.stopped, "robbins_monro": rm, "d": self.problem.d, "S": self.problem.S,
                    "task": self.task, "classes": self.K, "config": cfg.to_dict(),
                    "network": "-".join(str(n) for n in self.net.layer_sizes),
                    "optimizer": describe_method(cfg), "regulariser": describe_regulariser(cfg),
                    "compare": [{"method": o.cfg.optimizer, "k": o.k, "loss": float(o.E), "stopped": o.stopped,
                                 "steps": describe_method(o.cfg)} for o in self.others]}

    def frame(self, view_k: int | None = None, *, surface: bool = True) -> dict:
        """Everything the page draws, at w^k (live) or at the snapshot at or before ``view_k``."""
        with self.lock, np.errstate(all="ignore"):
            return build_frame(self, view_k, surface)


def _forget(history) -> None:
    """Cut the run's history to its latest record (the session keeps its own thinned rows; the loop
    writes the step columns of the latest record only)."""
    for f in dataclasses.fields(history):
        del getattr(history, f.name)[:-1]
