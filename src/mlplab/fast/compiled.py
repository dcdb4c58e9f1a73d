"""One-sample SGD steps as a compiled loop (Numba): the lecture's component formulas, any dtype.

The same steps as :mod:`mlplab.fast.scalar` — per component, in the order of the
backpropagation slides,

    z_i^ℓ = Σ_j w_ij^ℓ a_j^{ℓ−1} + b_i^ℓ,    a_i^ℓ = φ(z_i^ℓ)
    dz_i^L = φ′(z_i^L) ∂e/∂ŷ_i               (or the loss's logit form)
    dz_j^{ℓ−1} = φ′(z_j^{ℓ−1}) Σ_i w_ij^ℓ dz_i^ℓ
    w_ij^ℓ ← (1 − γρλ) w_ij^ℓ − γ dz_i^ℓ a_j^{ℓ−1},    b_i^ℓ ← b_i^ℓ − γ dz_i^ℓ

— compiled once per signature with ``numba.njit(cache=True, fastmath=False)``
(IEEE arithmetic: no reassociation, so the sums run left to right as in
``fast.scalar``), for float64 and float32 (float32 arithmetic stays in float32, as
in the array code), every element-wise activation, softmax on the output with
cross-entropy, every loss, biases, L2, sample weights and both reductions.
The stopping rule is ``fast.scalar``'s: before the first step whose E_j is not
finite, whose size could overflow (γ Σ_ℓ Σ|dz^ℓ| (1 + Σ|a^{ℓ−1}|) ≥ ¼ of the
dtype's largest number, a bound on every entry of the step), or whose
regulariser factor |1 − γρλ| exceeds 1.

Numba is optional (``pip install mlplab[fast]``): it is imported on the first
call of :func:`supports`, never by ``import mlplab``; without it — or with the
environment variable ``MLPLAB_NO_NUMBA=1`` — :meth:`mlplab.objective.Problem.sgd_steps`
keeps the Python-float path (tiny float64 nets) or the array path. Where the
cache cannot be written (a read-only install without a writable user cache),
the kernel is compiled without one, at every process start.

Size limit: networks of at most :data:`MAX_PARAMS` parameters. The kernel is
serial and scalar (no BLAS, no reassociated SIMD sums); the array step's
per-call overhead (~25 NumPy/BLAS calls, tens of µs) dominates up to some ten
thousand parameters, BLAS beyond (measurements at :data:`MAX_PARAMS`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import numpy as np

from mlplab import activations, losses
from mlplab.activations import LEAKY_RELU_SLOPE, log_sigmoid_scalar, sigmoid_scalar

# Measured against Problem.sgd_step (the array path; 2 cores, OpenBLAS), steps/s, 8-h-h-2 tanh nets:
#   d = 66: 62× (float64; vs fast.scalar) / 152× (float32), d = 450: 35×, d = 4,866: 4.6×, d = 17,922: 1.8×,
#   d = 68,610: 0.7–0.9×, d = 268,290: 0.2–0.3×; 784-300-10 sigmoid/softmax float32 (d = 238,510): 0.28×.
# The kernel's sums Σ_j w_ij a_j run serially (fastmath=False: one add latency per term), so
# beyond a few ten thousand parameters BLAS wins; the crossover is near d ≈ 40,000. The limit
# keeps a margin below it.
MAX_PARAMS = 16384
ENV_SWITCH = "MLPLAB_NO_NUMBA"  # set to 1 (any value but "" or "0") to force the fallback paths

_SAFE = {np.dtype(dt): 0.25 * float(np.finfo(dt).max) for dt in (np.float32, np.float64)}  # as _SAFE_STEP

# codes passed to the kernel
_ACT = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 3, "identity": 4, "softplus": 5, "softmax": 6}
_SOFTMAX = 6
_UNIT_LOSS = {"squared": 0, "absolute": 1, "perceptron": 2}  # chain rule: e(y, a), ∂e/∂ŷ · φ′(z)
_LOGIT = {("squared", "sigmoid"): 3, ("binary_cross_entropy", "sigmoid"): 4, ("cross_entropy", "softmax"): 5}

_NO_ACC = np.zeros(0)  # no block sums wanted
_state: dict = {}  # "kernel": the compiled dispatcher, or "error": why there is none


def disabled() -> bool:
    """True when ``MLPLAB_NO_NUMBA`` asks for the fallback paths."""
    return os.environ.get(ENV_SWITCH, "") not in ("", "0")


def kernel():
    """The compiled kernel, building it (importing Numba) on the first call; None without Numba."""
    if "kernel" not in _state and "error" not in _state:
        with _ctrl_c_deferred():
            try:
                import numba
            except ImportError as exc:  # optional dependency: the fallback paths run
                _state["error"] = f"numba not importable ({exc})"
                return None
            _state["kernel"] = _build(numba)
    return _state.get("kernel")


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Hold a Ctrl-C (SIGINT) until Numba is imported and the kernel compiled or loaded from its cache,
    then raise it: interrupted half-way, Numba's import or compiler can leave the process hanging."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _njit(numba, f, inline="never"):
    """``numba.njit(cache=True)``; without a cache where no cache directory can be written.

    ``inline="always"``: Numba inlines the function into its callers (the kernel's sections,
    which take arrays: called, they would cost a struct of arguments each per step).
    """
    options = dict(fastmath=False, nogil=True, error_model="numpy", boundscheck=False, inline=inline)
    try:
        return numba.njit(cache=True, **options)(f)
    except RuntimeError:  # "cannot cache function …: no locator available" (read-only install)
        return numba.njit(cache=False, **options)(f)


def _build(numba):
    # the helpers are plain functions below; compile them and rebind the module's names, so
    # that the kernel (compiled last, lazily at its first call) calls the compiled versions
    g = globals()
    for name in _HELPERS:
        g[name] = _njit(numba, _PY[name], "always" if name in _SECTIONS else "never")
    return _njit(numba, _PY["_sgd_kernel"])


def plan(problem):
    """The kernel's static arguments for this problem, or None where it does not apply.

    Applies when Numba imports, ``MLPLAB_NO_NUMBA`` is unset, d ≤ MAX_PARAMS, the
    dtype is float32/float64, every activation and the loss are the built-in records
    (as :func:`mlplab.fast.scalar.supports`), and the output error has a form here: the
    pair's logit form where :mod:`mlplab.losses` declares one, else the chain rule with
    an element-wise output activation.
    """
    net, loss = problem.net, problem.loss
    if disabled() or net.n_params > MAX_PARAMS or net.dtype not in _SAFE:
        return None
    if losses.LOSSES.get(loss.name) != loss or any(
            activations.ACTIVATIONS.get(act.name) != act for act in net.activations):
        return None
    names = [act.name for act in net.activations]
    if any(name not in _ACT for name in names) or _SOFTMAX in [_ACT[n] for n in names[:-1]]:
        return None
    if names[-1] in loss.logit_forms:
        out_kind = _LOGIT.get((loss.name, names[-1]))
    else:
        out_kind = None if names[-1] == "softmax" else _UNIT_LOSS.get(loss.name)
    if out_kind is None or kernel() is None:
        return None
    sizes = np.array(net.layer_sizes, dtype=np.int64)
    w_off = np.array([s.W.start for s in net.slices], dtype=np.int64)
    b_off = np.array([-1 if s.b is None else s.b.start for s in net.slices], dtype=np.int64)
    acts = np.array([_ACT[n] for n in names], dtype=np.int64)
    dt = net.dtype
    consts = np.array([1.0, LEAKY_RELU_SLOPE, activations._exp_floor(dt), 0.5], dtype=dt)
    return sizes, w_off, b_off, acts, out_kind, consts, _SAFE[dt]


def sgd_steps(problem, w: np.ndarray, js, gammas, the_plan, acc: np.ndarray | None = None) -> int:
    """Steps w ← w − γ_k ∇E_{j_k}(w) for j_k, γ_k in zip(js, gammas), in place (see the module doc).

    ``the_plan`` from :func:`plan`. Returns the number of steps taken; w holds the last
    good iterate. ``acc``: a float64 array of d + 1 entries to which every step taken adds
    E_j (entry 0) and ∇E_j(w) at the w before it (entries 1…d, the params layout) — the
    training loop's block estimates.
    """
    sizes, w_off, b_off, acts, out_kind, consts, safe = the_plan
    rows = np.asarray(js, dtype=np.intp).reshape(-1)
    gam = np.asarray(gammas, dtype=np.float64).reshape(-1)
    n = min(len(rows), len(gam))
    if n == 0:
        return 0
    rows, gam = rows[:n], gam[:n]
    S = problem.S
    lo, hi = int(rows.min()), int(rows.max())
    if lo < -S or hi >= S:
        raise IndexError(f"sample index {lo if lo < -S else hi} is out of bounds for {S} samples")
    if lo < 0:
        rows = np.where(rows < 0, rows + S, rows)
    if problem.sample_weight is None:
        C, has_c = consts[:1], False
    else:
        C, has_c = problem.sample_weight, True
    rho_lam = float(problem._reg_weight(1) * problem.l2)  # ρ λ for a block of one sample
    if acc is None:
        acc = _NO_ACC
    elif acc.dtype != np.float64 or acc.shape != (problem.d + 1,):
        raise ValueError(f"acc must be a float64 array of d + 1 = {problem.d + 1} entries")
    args = (w, problem.X, problem.Y, C, has_c, rows, gam, sizes, w_off, b_off, acts, out_kind, rho_lam, safe,
            consts, acc)
    signature = (w.dtype, problem.X.dtype, problem.Y.dtype, C.dtype)
    if signature in _state.setdefault("ready", set()):
        return int(kernel()(*args))
    with _ctrl_c_deferred():  # the first call for these types compiles or loads the cache
        taken = int(kernel()(*args))
    _state["ready"].add(signature)
    return taken


# --- the compiled code: plain Python here, compiled by _build ----------------------
# Constants come from ``consts`` (the network's dtype): a float literal would promote
# float32 arithmetic to float64. σ and log σ are the one scalar form in mlplab.activations.
# Layer ℓ's a^ℓ, z^ℓ and dz^ℓ sit at off[ℓ] : off[ℓ+1] of A, Z and D; W^{ℓ+1} row i at
# w[w_off[ℓ] + i N_ℓ :], b^{ℓ+1} at w[b_off[ℓ] :] (−1: no bias).


def _phi(code, z, one, slope, floor):
    """a = φ(z) for the element-wise activations (NaN passes through, as in the array code)."""
    if code == 0:
        return sigmoid_scalar(z, one)
    if code == 1:
        return np.tanh(z)
    if code == 2:
        return z if not z <= 0 else one - one
    if code == 3:
        return z if not z <= 0 else slope * z
    if code == 5:  # softplus: max(z, 0) + log1p(e^{max(−|z|, floor)}), exp never subnormal
        t = -abs(z)
        if floor > t:
            t = floor
        m = z if not z <= 0 else one - one
        return m + np.log1p(np.exp(t))
    return z  # identity


def _dphi(code, z, a, one, slope):
    """φ′(z) given a = φ(z): σ′ = σ(z) σ(−z), σ(−z) from z; tanh′ = 1 − a²; softplus′ = σ."""
    if code == 0:
        return a * sigmoid_scalar(-z, one)
    if code == 1:
        return one - a * a
    if code == 2:
        return one if z > 0 else one - one
    if code == 3:
        return one if z > 0 else slope
    if code == 5:
        return sigmoid_scalar(z, one)
    return one  # identity


def _softmax(Z, A, ao, n_out, zero, floor):
    """a_i = e^{z_i − m} / Σ_j e^{z_j − m}, m = max_j z_j, exponents clipped at floor."""
    m = Z[ao]
    for i in range(1, n_out):
        if Z[ao + i] > m:
            m = Z[ao + i]
    tot = zero
    for i in range(n_out):
        t = Z[ao + i] - m
        A[ao + i] = np.exp(t if not floor > t else floor)
        tot += A[ao + i]
    for i in range(n_out):
        A[ao + i] /= tot


def _forward(w, A, Z, sizes, off, w_off, b_off, acts, one, slope, floor):
    """z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ, a^ℓ = φ(z^ℓ) for ℓ = 1..L, from a^0 already in A."""
    zero = one - one
    for ell in range(acts.shape[0]):
        n_in, n_out, ai, ao, wo, bo = sizes[ell], sizes[ell + 1], off[ell], off[ell + 1], w_off[ell], b_off[ell]
        for i in range(n_out):
            s = w[bo + i] if bo >= 0 else zero
            r = wo + i * n_in
            for q in range(n_in):
                s += w[r + q] * A[ai + q]
            Z[ao + i] = s
        code = acts[ell]
        if code == 6:
            _softmax(Z, A, ao, n_out, zero, floor)
        else:
            for i in range(n_out):
                A[ao + i] = _phi(code, Z[ao + i], one, slope, floor)


def _unit_error(kind, out_code, y, z, a, one, slope, half):
    """(e_i, dz_i) of one output unit: the sigmoid pairs' logit forms (kind 3, 4) or the chain rule
    dz_i = ∂e/∂ŷ_i φ′(z_i) of squared (0), absolute (1) and perceptron (2) error."""
    zero = one - one
    two = one + one
    if kind == 3:  # sigmoid + squared: r = y − σ(z) as (y − 1) + σ(−z) where y ≥ ½
        sn = sigmoid_scalar(-z, one)
        r = (y - one) + sn if y >= half else y - a
        return r * r, -two * r * (a * sn)  # −2 r σ(z) σ(−z)
    if kind == 4:  # sigmoid + binary cross-entropy from the logits
        return -(y * log_sigmoid_scalar(z) + (one - y) * log_sigmoid_scalar(-z)), a - y
    if kind == 0:
        e = (y - a) * (y - a)
        de = two * (a - y)
    elif kind == 1:
        e = abs(y - a)
        de = one if a > y else (-one if a < y else zero)
    else:  # perceptron
        p = -y * a
        e = p if not p <= 0 else zero
        de = -y if y * a <= 0 else zero
    return e, de * _dphi(out_code, z, a, one, slope)


def _softmax_cross_entropy(Y, j, Z, A, D, oL, nL, zero, floor):
    """e = −Σ_i y_i log a_i with log a_i = (z_i − m) − log Σ e^{z_j − m}; dz^L = J (−y/a) = a Σ y − y into D."""
    m = Z[oL]
    for i in range(1, nL):
        if Z[oL + i] > m:
            m = Z[oL + i]
    tot = zero
    sy = zero
    for i in range(nL):
        t = Z[oL + i] - m
        tot += np.exp(t if not floor > t else floor)
        sy += Y[j, i]
    lt = np.log(tot)
    e = zero
    for i in range(nL):
        y = Y[j, i]
        e += y * ((Z[oL + i] - m) - lt)
        D[oL + i] = A[oL + i] * sy - y
    return -e


def _backward(w, A, Z, D, sizes, off, w_off, acts, one, slope):
    """dz^{ℓ−1} = φ′(z^{ℓ−1}) ⊙ (W^ℓ)ᵀ dz^ℓ for ℓ = L..2, from dz^L in D; the sums over i in
    increasing order (row by row: contiguous in w)."""
    zero = one - one
    for ell in range(acts.shape[0] - 1, 0, -1):
        n_in, n_out, ai, ao, wo = sizes[ell], sizes[ell + 1], off[ell], off[ell + 1], w_off[ell]
        for q in range(n_in):
            D[ai + q] = zero
        for i in range(n_out):
            d = D[ao + i]
            r = wo + i * n_in
            for q in range(n_in):
                D[ai + q] += w[r + q] * d  # δ^ℓ = (W^{ℓ+1})ᵀ dz^{ℓ+1}
        code = acts[ell - 1]
        for q in range(n_in):
            D[ai + q] = D[ai + q] * _dphi(code, Z[ai + q], A[ai + q], one, slope)


def _l2_square(w, sizes, w_off, L):
    """Σ_ℓ ‖W^ℓ‖²_F in float64."""
    sq = 0.0
    for ell in range(L):
        for q in range(w_off[ell], w_off[ell] + sizes[ell] * sizes[ell + 1]):
            sq += float(w[q]) * float(w[q])
    return sq


def _step_bound(A, D, off, L):
    """Σ_ℓ Σ|dz^ℓ| (1 + Σ|a^{ℓ−1}|) ≥ every |entry| of the step / γ; sums, so a NaN fails."""
    bound = 0.0
    for ell in range(L):
        sd = 0.0
        for i in range(off[ell + 1], off[ell + 2]):
            sd += abs(float(D[i]))
        sa = 0.0
        for q in range(off[ell], off[ell + 1]):
            sa += abs(float(A[q]))
        bound += sd * (1.0 + sa)
    return bound


def _accumulate(acc, w, A, D, E, sizes, off, w_off, b_off, L, rho_lam):
    """acc += [E_j, ∇E_j]: ∇_{W^ℓ} = dz aᵀ + ρλ W^ℓ, ∇_{b^ℓ} = dz, at the w before the step (float64)."""
    acc[0] += E
    for ell in range(L):
        n_in, n_out, ai, ao, wo, bo = sizes[ell], sizes[ell + 1], off[ell], off[ell + 1], w_off[ell], b_off[ell]
        for i in range(n_out):
            d = float(D[ao + i])
            r = wo + i * n_in
            for q in range(n_in):
                acc[1 + r + q] += d * float(A[ai + q]) + rho_lam * float(w[r + q])
            if bo >= 0:
                acc[1 + bo + i] += d


def _update(w, A, D, sizes, off, w_off, b_off, L, gam_t, shr_t, shrink):
    """w_ij^ℓ ← (1 − γρλ) w_ij^ℓ − γ dz_i^ℓ a_j^{ℓ−1}, b_i^ℓ ← b_i^ℓ − γ dz_i^ℓ (γ, 1 − γρλ in w's dtype)."""
    for ell in range(L):
        n_in, n_out, ai, ao, wo, bo = sizes[ell], sizes[ell + 1], off[ell], off[ell + 1], w_off[ell], b_off[ell]
        for i in range(n_out):
            g = gam_t * D[ao + i]
            r = wo + i * n_in
            if shrink != 1.0:
                for q in range(n_in):
                    w[r + q] = shr_t * w[r + q] - g * A[ai + q]
            else:
                for q in range(n_in):
                    w[r + q] = w[r + q] - g * A[ai + q]
            if bo >= 0:
                w[bo + i] -= gam_t * D[ao + i]


def _sgd_kernel(w, X, Y, C, has_c, js, gammas, sizes, w_off, b_off, acts, out_kind, rho_lam, safe, consts, acc):
    """The steps w ← w − γ_k ∇E_{j_k}(w), k = 0, 1, …, until one is refused; returns how many were taken."""
    one, slope, floor, half = consts[0], consts[1], consts[2], consts[3]
    zero = one - one
    L = acts.shape[0]
    off = np.zeros(L + 2, dtype=np.int64)  # a^ℓ, z^ℓ, dz^ℓ of layer ℓ at off[ℓ] : off[ℓ+1]
    for ell in range(L + 1):
        off[ell + 1] = off[ell] + sizes[ell]
    A = np.empty(off[L + 1], dtype=consts.dtype)  # a^0 = x, a^1, …, a^L
    Z = np.empty_like(A)  # z^ℓ (slot of a^0 unused)
    D = np.empty_like(A)  # dz^ℓ = ∂E_j/∂z^ℓ (slot of a^0 unused)
    cast = np.empty(2, dtype=consts.dtype)  # float64 → the network's dtype
    nL, oL = sizes[L], off[L]
    track = acc.shape[0] > 0
    taken = 0
    for k in range(js.shape[0]):
        j = js[k]
        gamma = gammas[k]
        for q in range(sizes[0]):
            A[q] = X[j, q]
        _forward(w, A, Z, sizes, off, w_off, b_off, acts, one, slope, floor)
        if out_kind == 5:  # the output error e and dz^L = ∂e/∂z^L
            e = _softmax_cross_entropy(Y, j, Z, A, D, oL, nL, zero, floor)
        else:
            e = zero
            for i in range(nL):
                e_i, D[oL + i] = _unit_error(out_kind, acts[L - 1], Y[j, i], Z[oL + i], A[oL + i], one, slope, half)
                e += e_i
        c = C[j] if has_c else one
        E = float(c) * float(e)
        if c != one:
            for i in range(nL):
                D[oL + i] = c * D[oL + i]  # c_s ∂e/∂z
        if rho_lam != 0.0:
            E += 0.5 * rho_lam * _l2_square(w, sizes, w_off, L)
        _backward(w, A, Z, D, sizes, off, w_off, acts, one, slope)  # every dz^ℓ before any W^ℓ changes
        shrink = 1.0 - gamma * rho_lam  # the regulariser's −γρλ w_ij
        if not (np.isfinite(E) and gamma * _step_bound(A, D, off, L) < safe and abs(shrink) <= 1.0):
            break
        cast[0] = gamma
        cast[1] = shrink
        if track:  # the block estimate's sums, at the w before the step
            _accumulate(acc, w, A, D, E, sizes, off, w_off, b_off, L, rho_lam)
        _update(w, A, D, sizes, off, w_off, b_off, L, cast[0], cast[1], shrink)
        taken += 1
    return taken


_SECTIONS = ("_softmax", "_forward", "_softmax_cross_entropy", "_backward", "_l2_square", "_step_bound",
             "_accumulate", "_update")  # the kernel's parts, inlined into it
_HELPERS = ("sigmoid_scalar", "log_sigmoid_scalar", "_phi", "_dphi", "_unit_error", *_SECTIONS)
_PY = {name: globals()[name] for name in (*_HELPERS, "_sgd_kernel")}  # the Python originals
