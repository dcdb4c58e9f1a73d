"""One playground session: a network, an optimizer and its state, an RNG, a bounded history.

The engine is driven through its public pieces: :class:`mlplab.MLP`,
:class:`mlplab.Problem` (E, ∇E, block gradients, φ(α) along a direction) and the
optimizers' ``init``/``update`` interface, one iteration at a time:

    E, g = problem.value_and_grad(w)                 # at w^k, recorded
    B_k drawn by the session's RNG (SGD, mini-batch) # or all samples (GD)
    step, state, info = optimizer.update(g_B, state, w, loss=E_B, value_fn=…)
    w ← w + step                                     # w^{k+1} = w^k + α^k d^k

Memory is bounded: the history keeps every recent record and a log-spaced
subset of older ones (:class:`Thinned`), and snapshots of w for the scrubber
are thinned the same way, with a cap on the number of floats they hold.
All public methods hold the session's lock, so the server may call them from
worker threads while a download reads the network.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
import threading
import time
from dataclasses import replace

import numpy as np

import mlplab
from mlplab.analysis.gradflow import diagnose_gradients, layer_flows
from mlplab.analysis.surfaces import batched_loss
from mlplab.objective import Problem
from mlplab.optim import GD, SGD, Adam, MiniBatchSGD, Momentum, schedules
from mlplab.optim.linesearch import Armijo
from mlplab.playground import figures
from mlplab.playground.config import OPTIMIZERS, Config, FormError, load_data, n_classes

MAX_RECORDS = 1200  # history rows kept: the most recent RECENT and a log-spaced subset of the older ones
RECENT = 400
SNAPSHOT_FLOATS = 1_000_000  # floats of w kept for the scrubber (at most MAX_RECORDS snapshots)
GRID = 41  # decision boundary grid (per axis)
MAP_GRID = 24  # hidden-unit maps
MAX_MAPS = 128  # hidden-unit maps drawn (the figure says how many more there are)
SURFACE_GRID = 31  # the toy model's exact (w11, w12) surface
PLANE_GRID = 25  # a plane through the trajectory of a larger network (S samples per point)
PLOT_POINTS = 400  # history points drawn (evenly over the kept records; the latest always)
PHI_POINTS = 121
DIVERGE_FACTOR = 1e6
MAX_EDGES = 400  # weights drawn in the network diagram: the largest |w| when there are more


class Thinned:
    """Rows keyed by an increasing k; past ``cap`` rows, the older ones are thinned to a log-spaced subset."""

    def __init__(self, cap: int = MAX_RECORDS, recent: int = RECENT):
        self.cap, self.recent = max(cap, 8), min(recent, max(cap // 2, 4))
        self.rows: list = []

    def add(self, k: int, row) -> None:
        self.rows.append((k, row))
        if len(self.rows) > self.cap:
            self._thin()

    def _thin(self):
        old, new = self.rows[:-self.recent], self.rows[-self.recent:]
        keep = self.cap // 2 - 1
        ks = np.array([k for k, _ in old], dtype=float)
        targets = np.unique(np.round(np.geomspace(1, max(ks[-1], 1) + 1, keep) - 1))
        idx = np.unique(np.searchsorted(ks, targets).clip(0, len(old) - 1))
        idx = np.union1d(idx, [0, len(old) - 1]).astype(int)  # w^0 and the last old one stay
        self.rows = [old[i] for i in idx] + new

    def ks(self) -> list[int]:
        return [k for k, _ in self.rows]

    def at_or_before(self, k: int):
        """(k', row) with the largest k' ≤ k (or the first row)."""
        best = self.rows[0]
        for kk, row in self.rows:
            if kk > k:
                break
            best = (kk, row)
        return best

    def get(self, k: int):
        for kk, row in reversed(self.rows):
            if kk == k:
                return row
            if kk < k:
                return None
        return None

    def __len__(self):
        return len(self.rows)


class _Value:
    """E on all samples for the line searches, with φ(α) and φ′(α) along a direction (value_along)."""

    def __init__(self, problem: Problem):
        self.problem = problem

    def __call__(self, w):
        return self.problem.value(w)

    def along(self, w, d):
        return self.problem.value_along(w, d)


def robbins_monro_text(schedule) -> str:
    verdict = schedule.robbins_monro
    if verdict is None:
        return "Robbins–Monro: unknown for this schedule"
    if verdict:
        return "Robbins–Monro holds (Σγ_k = ∞, Σγ_k² < ∞): SGD converges asymptotically"
    if not schedule.sum_diverges:
        return "not Robbins–Monro: Σγ_k < ∞, the steps may stop short of a stationary point"
    return "not Robbins–Monro: Σγ_k² = ∞, SGD only reaches a noise neighbourhood"


def make_schedule(cfg: Config):
    if cfg.schedule == "inverse":
        return schedules.Inverse(cfg.c)
    if cfg.schedule == "constant":
        return schedules.Constant(cfg.c)
    if cfg.schedule == "power":
        return schedules.Power(cfg.c, cfg.p)
    if cfg.schedule == "step":
        return schedules.StepDecay(cfg.c, 0.5, cfg.every)
    return schedules.Exponential(cfg.c, cfg.rate)


def schedule_text(cfg: Config) -> str:
    """γ_k of the form in the lecture's notation, with its numbers."""
    c = f"{cfg.c:g}"
    return {"inverse": f"γ_k = {c}/(k+1)", "constant": f"γ_k = {c}",
            "power": f"γ_k = {c}/(k+1)^{cfg.p:g}", "step": f"γ_k = {c}·0.5^⌊k/{cfg.every}⌋",
            "exponential": f"γ_k = {c}·exp(−{cfg.rate:g} k)"}.get(cfg.schedule, cfg.schedule)


def describe_method(cfg: Config) -> str:
    """The method and its step sizes in words and numbers (never a Python repr)."""
    o = cfg.optimizer
    if o == "gd-exact":
        return f"GD, exact line search (α_max = {cfg.alpha_max:g})"
    if o == "gd-armijo":
        return "GD, Armijo backtracking"
    if o == "gd-constant":
        return f"GD, constant step α = {cfg.alpha:g}"
    if o == "sgd":
        return f"SGD (one sample per step), {schedule_text(cfg)}"
    block = f"|B| = {cfg.batch} ({'block mean' if cfg.reduction == 'mean' else 'block sum'}), {schedule_text(cfg)}"
    if o == "minibatch":
        return f"mini-batch SGD, {block}"
    if o == "momentum":
        return f"{'Nesterov' if cfg.nesterov else 'momentum'} β = {cfg.beta:g}, {block}"
    return f"Adam β₁ = {cfg.b1:g}, β₂ = {cfg.b2:g}, {block}"


def make_optimizer(cfg: Config, S: int):
    """The engine's optimizer for the form, and whether mini-batch gradients are block means."""
    if cfg.optimizer == "gd-exact":
        return GD("exact", alpha_max=cfg.alpha_max)
    if cfg.optimizer == "gd-armijo":
        return GD("armijo")
    if cfg.optimizer == "gd-constant":
        return GD(cfg.alpha)
    sched = make_schedule(cfg)
    if cfg.optimizer == "sgd":
        return SGD(sched, sampling="uniform")
    if cfg.batch > S:
        raise FormError({"batch": f"|B| = {cfg.batch} is larger than the {S} samples; choose 1..{S}"})
    base = MiniBatchSGD(cfg.batch, sched, average=cfg.reduction == "mean", sampling="shuffle")
    if cfg.optimizer == "minibatch":
        return base
    if cfg.optimizer == "momentum":
        return Momentum(base, beta=cfg.beta, nesterov=cfg.nesterov)
    return Adam(base, b1=cfg.b1, b2=cfg.b2)


def split_data(X, y, cfg: Config):
    """(X_train, y_train, X_test, y_test): ``cfg.test_fraction`` of the samples held out, drawn by the
    data seed (the same split for the same data); the test pair is None without a split."""
    if cfg.test_fraction <= 0:
        return X, y, None, None
    S = len(y)
    n_test = int(round(cfg.test_fraction * S))
    if n_test < 1 or S - n_test < 2:
        raise FormError({"test_fraction": f"{cfg.test_fraction:g} of {S} samples leaves no test sample or fewer "
                                          "than 2 to train on; choose another share (0 for none)"})
    order = np.random.default_rng([cfg.data_seed, 2]).permutation(S)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return X[train], y[train], X[test], y[test]


def make_network(cfg: Config, task: str, n_in: int, K: int):
    """(MLP, loss) for the form and the data; FormError naming the field that does not fit."""
    if cfg.model == "toy":
        if task != "classification" or n_in != 2 or K != 2:
            raise FormError({"model": "the toy model ŷ = σ(w11 x1 + w12 x2) needs 2-D inputs and 2 classes; "
                                      "choose 'MLP' for this data"})
        if cfg.loss not in ("squared", "binary_cross_entropy"):
            raise FormError({"loss": "the toy model's output is one sigmoid: use squared or binary_cross_entropy"})
        return mlplab.MLP([2, 1], activation="sigmoid", bias=False, init=cfg.init, seed=cfg.seed), cfg.loss
    if task == "regression":
        if cfg.loss not in ("squared", "absolute"):
            raise FormError({"loss": f"{cfg.loss} is for classes; regression takes squared or absolute"})
        out, n_out = "identity", 1
    elif K == 2:
        if cfg.loss not in ("squared", "binary_cross_entropy", "absolute"):
            raise FormError({"loss": "2 classes use one sigmoid output: squared, binary_cross_entropy or absolute"})
        out, n_out = "sigmoid", 1
    else:
        if cfg.loss != "cross_entropy":
            raise FormError({"loss": f"{K} classes use a softmax output: choose cross_entropy"})
        out, n_out = "softmax", K
    sizes = [n_in, *cfg.hidden, n_out]
    try:
        net = mlplab.MLP(sizes, activation=[*cfg.activations, out], bias=cfg.bias, init=cfg.init, seed=cfg.seed)
    except ValueError as exc:
        raise FormError({"hidden": str(exc)}) from None
    return net, cfg.loss


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
                problem = Problem(net, X, y, loss, l2=cfg.l2, reduction="sum")
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
        self.w = self.w0.copy()
        self.state = self.optimizer.init(self.w)
        self.rng = np.random.default_rng([self.cfg.seed, 1])  # the sampling RNG (w^0 uses the seed itself)
        self.order, self.pos = None, 0
        self.k, self.cost, self.forward = 0, 0, 0
        self.stopped = ""  # why stepping stopped (divergence, failed line search), "" while it can go on
        self.records = Thinned()
        d = self.problem.d
        self.snapshots = Thinned(cap=min(MAX_RECORDS, max(16, SNAPSHOT_FLOATS // max(d, 1))),
                                 recent=min(RECENT, max(8, SNAPSHOT_FLOATS // max(d, 1) // 3)))
        self.last_step = None  # (k, w^k, d^k, α^k, info, E(w^k), φ′(0)) of the latest GD step
        self._surface_cache = None
        self.E, self.g = self.problem.value_and_grad(self.w)
        self.g = self.g.copy()
        self.E0 = self.E
        self._record(step_size=math.nan)
        self.snapshots.add(0, self.w.copy())

    def _record(self, step_size):
        net = self.net
        layer = [float(np.linalg.norm(self.g[s.W])) for s in net.slices]
        self.records.add(self.k, {"k": self.k, "cost": self.cost + self.forward / 3.0, "loss": float(self.E),
                                  "grad_norm": float(np.linalg.norm(self.g)), "step_size": step_size,
                                  "layers": layer, "test_loss": self._test_loss(self.w)})

    def _test_loss(self, w):
        """E_test(w)·S/S_test: the held-out loss on the training sum's scale (None without a test set)."""
        T = self.test_problem
        if T is None:
            return None
        return float(T.value(w)) * self.problem.S / T.S

    # --- stepping ----------------------------------------------------------------------------

    def _draw(self):
        """B_k: None (all samples) for GD, one index for SGD (uniform), a block of a shuffled epoch otherwise."""
        opt, S = self.optimizer, self.problem.S
        b = opt.batch_size
        if b is None:
            return None, S
        if b == 1 and opt.sampling == "uniform":
            return int(self.rng.integers(S)), 1
        if self.order is None or self.pos >= S:
            self.order, self.pos = self.rng.permutation(S), 0
        i, self.pos = self.pos, min(self.pos + b, S)
        return np.sort(self.order[i:self.pos]), self.pos - i

    def step(self, n: int = 1, budget_s: float | None = None) -> int:
        """Take up to n iterations (fewer when ``budget_s`` seconds pass or training stops); returns how many."""
        with self.lock:
            t0, k0 = time.perf_counter(), self.k
            with np.errstate(all="ignore"):
                while self.k - k0 < n and not self.stopped:
                    self._one()
                    for other in self.others:  # the compared methods keep in step, iteration for iteration
                        other.step(1)
                    if budget_s is not None and time.perf_counter() - t0 > budget_s:
                        break
            return self.k - k0

    def _one(self):
        P, opt = self.problem, self.optimizer
        w, k = self.w, self.k
        idx, n = self._draw()
        if idx is None:
            E_b, g_b = self.E, self.g.copy()
        else:
            E_b, g_b = P.value_and_grad(w, idx)
            g_b = g_b.copy()
            if opt.average:
                E_b, g_b = E_b / n, g_b / n
        vf = _Value(P) if opt.uses_line_search else None
        try:
            step, state, info = opt.update(g_b, self.state, w, loss=E_b, value_fn=vf)
        except (ValueError, FloatingPointError, OverflowError) as exc:
            self.stopped = f"the step failed: {exc}"
            return
        if info.failed:
            self.stopped = (f"stopped at step {k}: the line search found no decrease along −∇E — φ(α) is flat to "
                            f"rounding on (0, α_max] (E = {self.E:.6g}, ‖∇E‖ = {np.linalg.norm(self.g):.2g}); "
                            "w^k is stationary to rounding, reset or change the method to go on")
            return
        new_w = w + step
        if not np.all(np.isfinite(new_w)):
            self.stopped = f"diverged at step {k}: the step is not finite; reset or lower the step size"
            return
        E, g = P.value_and_grad(new_w)
        limit = DIVERGE_FACTOR * max(self.E0, 1e-6 * P.S)
        if not math.isfinite(E) or E > limit:
            self.stopped = (f"diverged at step {k}: E = {E:.3g} (E(w^0) = {self.E0:.3g}); "
                            "reset or lower the step size")
            return
        if isinstance(opt, GD) and opt.uses_line_search:
            self.last_step = (k, w.copy(), -self.g, info.step_size, info, self.E, -float(self.g @ self.g))
        # the record of w^k gets the step size taken from it
        self.records.rows[-1][1]["step_size"] = float(info.step_size)
        self.state = state
        self.cost += n
        self.forward += info.forward_passes * (n if idx is not None else P.S)
        self.w, self.E, self.g, self.k = new_w, E, g.copy(), k + 1
        self._record(step_size=math.nan)
        self.snapshots.add(self.k, self.w.copy())

    # --- downloads ------------------------------------------------------------------------------

    def model_bytes(self) -> bytes:
        """The current network w^k as an mlplab model file (``mlplab.save``), as bytes."""
        with self.lock:
            net = self.net.copy()
            net.params[:] = self.w
            extra = {"playground": {"config": self.cfg.to_dict(), "k": self.k, "loss": float(self.E)}}
            if self.task == "classification" and self.K:
                extra["playground"]["classes"] = list(range(self.K))
        fd, path = tempfile.mkstemp(suffix=".safetensors")
        os.close(fd)
        try:
            mlplab.save(net, path, extra=extra)
            with open(path, "rb") as f:
                return f.read()
        finally:
            os.unlink(path)

    def history_csv(self) -> str:
        """The (thinned) history as CSV: k, cost, E, ‖∇E‖, step size, ‖∇_{W^ℓ}E‖ per layer (and, with a test
        set, its loss E_test·S/S_test)."""
        with self.lock:
            rows = [r for _, r in self.records.rows]
            L = self.net.n_layers
            test = self.test_problem is not None
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(["k", "cost", "loss", "grad_norm", "step_size"] + [f"grad_norm_W{ell}" for ell in range(1, L + 1)]
                    + (["test_loss_scaled"] if test else []))
        for r in rows:
            wr.writerow([r["k"], repr(r["cost"]), repr(r["loss"]), repr(r["grad_norm"]),
                         "" if math.isnan(r["step_size"]) else repr(r["step_size"])] + [repr(v) for v in r["layers"]]
                        + ([repr(r["test_loss"])] if test else []))
        return buf.getvalue()

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
                    "optimizer": describe_method(cfg),
                    "compare": [{"method": o.cfg.optimizer, "k": o.k, "loss": float(o.E), "stopped": o.stopped,
                                 "steps": describe_method(o.cfg)} for o in self.others]}

    def frame(self, view_k: int | None = None, *, surface: bool = True) -> dict:
        """Everything the page draws, at w^k (live) or at the snapshot at or before ``view_k``."""
        with self.lock, np.errstate(all="ignore"):
            live = view_k is None or view_k >= self.k
            if live:
                k, w = self.k, self.w
            else:
                k, w = self.snapshots.at_or_before(int(view_k))
            rec = self.records.get(k)
            if rec is None:
                E, g = self.problem.value_and_grad(w)
                E, gn = float(E), float(np.linalg.norm(g))
            else:
                E, gn = rec["loss"], rec["grad_norm"]
            out = self.status()
            out.update({"type": "frame", "k": k, "live": live, "live_k": self.k, "loss": E, "grad_norm": gn,
                        "snapshots": self.snapshots.ks()})
            rows = _spread([r for _, r in self.records.rows], PLOT_POINTS)
            hk = [r["k"] for r in rows]
            figs = {}
            others = []
            for o in self.others:
                orows = _spread([r for kk, r in o.records.rows if kk <= k], PLOT_POINTS)
                others.append((OPTIMIZERS[o.cfg.optimizer], [r["k"] for r in orows], [r["cost"] for r in orows],
                               [r["loss"] for r in orows], [r["grad_norm"] for r in orows]))
            figs["convergence"] = figures.convergence(
                hk, [r["cost"] for r in rows], [r["loss"] for r in rows], [r["grad_norm"] for r in rows],
                x=self.view["x"], log=self.view["log"], marker_k=None if live else k,
                label=OPTIMIZERS[self.cfg.optimizer] if self.others else None, others=others,
                test_loss=None if self.test_problem is None else [r["test_loss"] for r in rows],
                test_label=None if self.test_problem is None else
                f"test E·S/S_{{test}} ({self.test_problem.S} held out)")
            if self.test_problem is not None:
                out["test_loss"] = rec["test_loss"] if rec is not None else self._test_loss(w)
                out["S_test"] = self.test_problem.S
            sk = [r["k"] for r in rows if not math.isnan(r["step_size"])]
            ss = [r["step_size"] for r in rows if not math.isnan(r["step_size"])]
            gd = isinstance(self.optimizer, GD)
            figs["step_size"] = figures.step_sizes(sk, ss, label="α^k" if gd else "γ_k",
                                                   note=out["robbins_monro"], log=self.view["log"])
            figs.update(self._data_figures(w))
            figs["gradients"], out["flow"] = self._flow_figure(w)
            if surface:
                figs["surface"] = self._surface_figure(w, k)
            phi = self._phi(live, k)
            out["phi"] = phi
            if phi is not None:
                figs["line_search"] = figures.line_search(
                    phi["alpha"], phi["value"], phi["alpha_k"], phi["phi_k"], k=phi["k"], rule=phi["rule"],
                    phi0=phi["phi0"], slope0=phi["slope0"], note=phi["note"])
            out["figures"] = figures.htmlize(figs)
            out["diagram"] = network_diagram(self.net, w)
            return out

    def _data_figures(self, w) -> dict:
        net, X, y = self.net, self.X, self.y
        figs = {}
        if X.shape[1] == 1:
            lo, hi = float(X.min()), float(X.max())
            pad = 0.1 * (hi - lo or 1.0)
            xg = np.linspace(lo - pad, hi + pad, 200)
            figs["boundary"] = figures.regression_fit(xg, net.forward(xg[:, None], params=w)[:, 0], X[:, 0], y)
            grid = xg[:, None]
            xs = ys = None
        else:
            lo, hi = X.min(axis=0), X.max(axis=0)
            pad = 0.15 * np.maximum(hi - lo, 1.0)
            xs, ys = np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID), np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID)
            GX, GY = np.meshgrid(xs, ys)
            out = net.forward(np.column_stack([GX.ravel(), GY.ravel()]), params=w)
            P = out[:, 0].reshape(GRID, GRID) if out.shape[1] == 1 else out.reshape(GRID, GRID, -1)
            figs["boundary"] = figures.decision_boundary(xs, ys, P, X, y, n_classes=self.K)
        # hidden-unit maps a^ℓ_i over the input plane (or line)
        maps, labels, acts, layers = [], [], [], []
        if net.n_layers > 1:
            if X.shape[1] == 2:
                mx, my = np.linspace(xs[0], xs[-1], MAP_GRID), np.linspace(ys[0], ys[-1], MAP_GRID)
                GX, GY = np.meshgrid(mx, my)
                pts = np.column_stack([GX.ravel(), GY.ravel()])
            else:
                mx, my = grid[::4, 0], np.array([0.0, 1.0])
                pts = mx[:, None]
            _, As = net.forward_cache(pts, w)
            total = sum(As[ell].shape[1] for ell in range(1, net.n_layers))
            for ell in range(1, net.n_layers):
                for i in range(As[ell].shape[1]):
                    if len(maps) >= MAX_MAPS:
                        break
                    a = As[ell][:, i]
                    maps.append(a.reshape(len(my), len(mx)) if X.shape[1] == 2 else np.vstack([a, a]))
                    labels.append(f"a^{ell}_{i + 1}")
                    acts.append(net.activations[ell - 1].name)
                    layers.append(ell)
            figs["activations"] = figures.activation_maps(mx, my, maps, labels, activations=acts, layers=layers,
                                                          total=total)
        else:
            figs["activations"] = figures.activation_maps([], [], [], [],
                                                          title="hidden units: none (one layer, ŷ = φ(W x))")
        return figs

    def _flow_figure(self, w):
        net = self.net
        flows = layer_flows(net, self.problem, w)
        g = self.g if w is self.w else self.problem.value_and_grad(w)[1]
        gn = [float(np.linalg.norm(g[s.W])) for s in net.slices]
        med = {name: [float(f.median(name)) for f in flows] for name in ("dphi_norm", "delta_norm", "a_prev_norm")}
        chain = [float(f.median("chain")) for f in flows]
        sample = [float(f.median_grad) for f in flows]
        diag = diagnose_gradients(flows)  # the project's verdict: per-sample medians, the lecture's bound
        numbers = ", ".join(f"{v:.2g}" for v in sample)
        if diag.kind == "healthy" or not diag.layers:
            verdict = f"gradient flow: {diag.kind} (median ‖∇e‖ per layer: {numbers})"
        else:
            verdict = (f"gradient flow: {diag.kind} in layer{'s' if len(diag.layers) > 1 else ''} "
                       + ", ".join(str(ell) for ell in diag.layers) + f" (median ‖∇e‖ per layer: {numbers})")
        fig = figures.layer_gradients(list(range(1, net.n_layers + 1)), gn, med["dphi_norm"], med["delta_norm"],
                                      med["a_prev_norm"], verdict=verdict, sample_grad=sample)
        return fig, {"grad_norm": gn, "sample_grad": sample, "dphi": med["dphi_norm"], "delta": med["delta_norm"],
                     "a_prev": med["a_prev_norm"], "chain": chain, "verdict": diag.kind, "message": diag.message,
                     "layers": list(diag.layers)}

    def _surface_figure(self, w, k):
        P = self.problem
        rows = [(kk, s) for kk, s in self.snapshots.rows if kk <= k]
        traj = np.array([s for _, s in rows])
        others = [(OPTIMIZERS[o.cfg.optimizer], np.array([s for kk, s in o.snapshots.rows if kk <= k]))
                  for o in self.others]
        if self.cfg.model == "toy":
            every = np.vstack([traj] + [p for _, p in others])
            lo = np.minimum(every.min(axis=0), -6.0)
            hi = np.maximum(every.max(axis=0), 6.0)
            pad = 0.1 * (hi - lo)
            a = np.linspace(lo[0] - pad[0], hi[0] + pad[0], SURFACE_GRID)
            b = np.linspace(lo[1] - pad[1], hi[1] + pad[1], SURFACE_GRID)
            AA, BB = np.meshgrid(a, b)
            E = batched_loss(P, np.column_stack([AA.ravel(), BB.ravel()])).reshape(AA.shape)
            return figures.loss_surface(a, b, E, traj[:, 0], traj[:, 1], labels=("w11", "w12"), exact=True,
                                        others=[(label, p[:, 0], p[:, 1]) for label, p in others])
        centre = w
        if len(traj) >= 3 and np.ptp(traj, axis=0).max() > 0:
            u, v, explained = _principal_plane(traj, centre)
            note = (f"plane through w^k along the path's 2 principal directions "
                    f"({100 * explained[0]:.0f}% + {100 * explained[1]:.0f}% of its variance); path projected")
        else:
            rng = np.random.default_rng(0)
            u, v = rng.standard_normal(P.d), rng.standard_normal(P.d)
            u /= np.linalg.norm(u)
            v -= (v @ u) * u
            v /= np.linalg.norm(v)
            note = "plane through w^k along two random directions (too few iterates yet)"
        B = np.stack([u, v], axis=1)
        coords = (traj - centre) @ B
        other_coords = [(label, (p - centre) @ B) for label, p in others]  # projected onto this run's plane
        span = max(max(np.abs(c).max() for c in [coords] + [c for _, c in other_coords]) * 1.3,
                   0.25 * max(np.linalg.norm(centre), 1.0))
        a = np.linspace(-span, span, PLANE_GRID)
        AA, BB = np.meshgrid(a, a)
        Ws = centre + AA.reshape(-1, 1) * u + BB.reshape(-1, 1) * v
        E = batched_loss(P, Ws).reshape(AA.shape)
        if other_coords:
            note += "; other methods' paths projected onto it"
        # the path at its true E(w^k) (recorded, or evaluated for the snapshots without a record)
        path_E = np.array([r["loss"] if (r := self.records.get(kk)) is not None else math.nan for kk, _ in rows])
        missing = ~np.isfinite(path_E)
        if missing.any():
            path_E[missing] = batched_loss(P, traj[missing])
        return figures.loss_surface(a, a, E, coords[:, 0], coords[:, 1], labels=("direction 1", "direction 2"),
                                    exact=False, note=note, path_E=path_E,
                                    others=[(label, c[:, 0], c[:, 1]) for label, c in other_coords])

    def _phi(self, live: bool, k: int):
        """φ(α) = E(w^j + α d^j) of the GD step j = k − 1 that led to w^k, with α^j marked (None without one)."""
        opt = self.optimizer
        if not (isinstance(opt, GD) and opt.uses_line_search) or k == 0:
            return None
        ls = self.last_step
        if live and ls is not None and ls[0] == k - 1:
            j, wj, d, alpha, info, E0, slope0 = ls
        else:  # scrubbed: recompute from the snapshot w^{k−1}, if kept (GD is deterministic)
            wj = self.snapshots.get(k - 1)
            rec = self.records.get(k - 1)
            if wj is None or rec is None or math.isnan(rec["step_size"]):
                return None
            j, alpha = k - 1, rec["step_size"]
            E0, g = self.problem.value_and_grad(wj)
            d = -g.copy()
            slope0 = -float(g @ g)
            info = None
        phi = self.problem.value_along(wj, d)
        capped = bool(info is not None and info.capped)
        unbounded = bool(info is not None and info.unbounded)
        hi = alpha * (1.0 if capped else 2.0) if alpha > 0 else 1.0
        grid = np.linspace(0.0, hi, PHI_POINTS)
        values = [phi(float(a)) for a in grid]
        phi_k = phi(float(alpha))
        rule = "armijo" if isinstance(opt.step, Armijo) else "exact"
        if rule == "exact":
            note = ("α^k = argmin over (0, α_max] of φ" if not capped else
                    ("capped at α_max: E still falls along d^k there (no minimiser on the ray)" if unbounded
                     else "capped at α_max"))
        else:
            note = "Armijo: the first α (backtracking) with φ(α) ≤ φ(0) + c₁ α φ′(0)"
        c1 = getattr(opt.step, "c1", 1e-4)
        return {"k": j, "alpha": grid.tolist(), "value": figures.clean(values), "alpha_k": float(alpha),
                "phi_k": float(phi_k), "phi0": float(E0), "slope0": float(slope0), "rule": rule, "capped": capped,
                "unbounded": unbounded, "note": note, "c1": c1}


def network_diagram(net, w, max_edges: int = MAX_EDGES) -> dict:
    """The network as nodes and weighted edges for the page's diagram: ``sizes`` (units per layer,
    inputs first), ``edges`` as ``[ℓ, i, j, w]`` (the weight W^ℓ_{ij} from unit j of layer ℓ−1 to
    unit i of layer ℓ), the ``max_edges`` largest |w| when there are more, ``n_edges`` the total."""
    weights = [np.asarray(w[s.W]).reshape(s.shape) for s in net.slices]
    n_edges = int(sum(W.size for W in weights))
    ell = np.concatenate([np.full(W.size, i + 1) for i, W in enumerate(weights)])
    ii = np.concatenate([np.repeat(np.arange(W.shape[0]), W.shape[1]) for W in weights])
    jj = np.concatenate([np.tile(np.arange(W.shape[1]), W.shape[0]) for W in weights])
    vals = np.concatenate([W.ravel() for W in weights])
    keep = np.arange(n_edges)
    if n_edges > max_edges:
        mag = np.where(np.isfinite(vals), np.abs(vals), np.inf)
        keep = np.sort(np.argpartition(-mag, max_edges - 1)[:max_edges])
    rounded = figures.clean(vals[keep], 6)
    edges = [[int(ell[t]), int(ii[t]), int(jj[t]), v] for t, v in zip(keep, rounded)]
    return {"sizes": [int(n) for n in net.layer_sizes], "edges": edges, "n_edges": n_edges}


def _spread(rows: list, n: int) -> list:
    """At most n of the rows, evenly spaced over the list, the first and the last always kept."""
    if len(rows) <= n:
        return rows
    idx = np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))
    return [rows[i] for i in idx]


def _principal_plane(traj: np.ndarray, centre: np.ndarray, max_points: int = 200):
    """The two principal directions of the iterates around ``centre`` (unit vectors, orthogonal) and
    the fraction of the variance each explains, from the Gram matrix of at most ``max_points``
    iterates (cheap for any number d of weights)."""
    if len(traj) > max_points:
        traj = traj[np.unique(np.linspace(0, len(traj) - 1, max_points).round().astype(int))]
    M = traj - centre
    lam, V = np.linalg.eigh(M @ M.T)
    order = np.argsort(lam)[::-1]
    total = float(lam.clip(0).sum()) or 1.0
    dirs, shares = [], []
    for i in order:
        u = M.T @ V[:, i]
        for prev in dirs:
            u = u - (u @ prev) * prev
        nu = np.linalg.norm(u)
        if nu > 1e-12 * max(1.0, np.abs(M).max()):
            dirs.append(u / nu)
            shares.append(max(float(lam[i]), 0.0) / total)
        if len(dirs) == 2:
            break
    while len(dirs) < 2:  # a straight path: complete with a coordinate direction orthogonal to it
        e = np.zeros(M.shape[1])
        e[int(np.argmin(np.abs(dirs[0]))) if dirs else 0] = 1.0
        for prev in dirs:
            e = e - (e @ prev) * prev
        dirs.append(e / np.linalg.norm(e))
        shares.append(0.0)
    return dirs[0], dirs[1], shares
