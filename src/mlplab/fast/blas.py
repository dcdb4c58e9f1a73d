"""The engine's matrix products, all through ONE BLAS library.

NumPy and SciPy each bundle their own OpenBLAS, and each OpenBLAS keeps its
own pool of threads, which spin for a while after every threaded call. A
training step that alternated between them — NumPy's ``matmul`` for the
forward pass, SciPy's ``gemm``/``ger`` for the in-place update — had the two
pools fighting over the cores: steps up to 10× slower on a 2-core machine
(measured; one thread each made the problem disappear). So every product on
the training path that is big enough for OpenBLAS to use threads goes through
SciPy's BLAS wrappers, which also provide what NumPy lacks: gemm's
C ← β C + α A B and the rank-1 update ger. Products too small to be threaded
use NumPy's ``matmul``, whose per-call overhead is lower (SGD on a tiny net,
2-2-1 or the slides' 2-2-2-1, takes hundreds of thousands of tiny steps).

All arrays are C-ordered (rows are samples). BLAS is column-major, and a
C-ordered M is the Fortran-ordered Mᵀ, so C = A B is computed as
Cᵀ = Bᵀ Aᵀ with the transposed views, without copies.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time

import numpy as np
from scipy.linalg import blas

# M·N·K (or M·N for a matrix-vector product) below which OpenBLAS stays on one thread
# (its thresholds: 262,144 for gemm, 9,216 for gemv, 8,192 for ger); below this bound
# a product cannot wake a thread pool.
SMALL = 8192

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
_GEMV = {np.dtype(np.float32): blas.sgemv, np.dtype(np.float64): blas.dgemv}
_GER = {np.dtype(np.float32): blas.sger, np.dtype(np.float64): blas.dger}


# --- threads per product ------------------------------------------------------------------
#
# OpenBLAS splits every product above its own small thresholds over all its threads, which then
# wait for each other. On a quiet machine that pays: a B1 product (128 × 784 × 300, float32) takes
# 0.37 ms on 2 threads against 0.70 ms on one. On a machine whose cores are busy with other work a
# descheduled thread stalls the whole product for a time slice: measured on 2 cores with one core
# kept busy, a full-data pass went from 0.13 s single-threaded to up to 7.7 s with 2 threads, and
# a B1 epoch ran 12–50× slower. No fixed size threshold is right for both, and the load average
# cannot tell (this process's own BLAS threads raise it). So inside :func:`thread_policy` (the
# training loop, and every Problem pass: value, value_and_grad, sgd_step, per_sample_grads, so
# MLP.loss_and_grad too) each gemm shape of at least TUNED_MIN (m·n·k) runs on the thread count
# that MEASURES faster: it starts on the threads allowed when the policy was entered (the
# environment's, or a ``threadpoolctl.threadpool_limits`` around the call; never more), and now
# and then (after PROBE_MIN … PROBE_MAX seconds of that shape's products, the interval doubling
# while the choice holds, or right after a product on several threads took 4× the usual) the
# other count — one thread, or the allowed ones — computes the same product into a scratch array,
# which is thrown away; the shape switches when two such probes in a row took at most SWITCH ×
# the median of its last products to leave the allowed count for one thread, SWITCH_BACK × to
# return (the first products on a pool that has been parked run slower than the pool's steady
# speed: measured on 2 cores, after a busy spell the 2-thread probes took 0.65–0.85 × the
# 1-thread median where steady 2-thread products take 0.65 ×, and a shape with the 0.75 rule
# stayed on one thread for seconds after the load had gone; a probe on more threads is also
# timed twice, the faster counting). The training's own products therefore always run on the
# chosen count. Smaller products, and gemv/ger/dot below THREADED_MIN, run on one thread.
#
# Reproducibility: OpenBLAS's results depend on its thread count in the last bits (it partitions
# a product differently), so a run is bit-for-bit repeatable for a given thread count. On one
# thread (``OPENBLAS_NUM_THREADS=1`` or ``threadpool_limits(1)``; the test suite runs so) nothing
# is measured and every run repeats exactly; with more threads, a shape only changes its count
# when the other is decisively faster (cores taken by other work, or freed again), so the same
# run on a quiet machine repeats, and one through a burst of outside load may differ in the
# last bits. Needs threadpoolctl (to find SciPy's OpenBLAS); without it nothing is changed.
THREADED_MIN = 1 << 27
TUNED_MIN = 1 << 20
SWITCH, SWITCH_BACK = 0.75, 0.9
PROBE_MIN, PROBE_MAX = 0.02, 0.25
_policy = threading.local()
_lib: dict = {}


def _openblas():
    """(get, set) of SciPy's OpenBLAS thread count (the library this module calls), or None:
    threadpoolctl's controller of that library (it resolves the symbol names of SciPy's build)."""
    if "fns" not in _lib:
        _lib["fns"] = None
        try:
            from threadpoolctl import ThreadpoolController

            for ctl in ThreadpoolController().select(internal_api="openblas").lib_controllers:
                if "scipy" in os.path.basename(os.path.dirname(getattr(ctl, "filepath", "") or "")):
                    if isinstance(ctl.get_num_threads(), int):
                        _lib["fns"] = (ctl.get_num_threads, ctl.set_num_threads)
                    break
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave the threads alone
            _lib["fns"] = None
    return _lib["fns"]


@contextlib.contextmanager
def thread_policy():
    """Each product on the thread count that measures faster (see above), never more than allowed now."""
    fns = _openblas()
    if fns is None or getattr(_policy, "max", None) is not None:  # (nested: the outer one rules)
        yield
        return
    get, put = fns
    found = int(get())
    _policy.max, _policy.now = found, found
    try:
        yield
    finally:
        if _policy.now != found:
            put(found)
        _policy.max = _policy.now = None


def with_thread_policy(fn):
    """Run ``fn`` inside :func:`thread_policy` — at no cost when a policy is already in force (the
    training loop's, around every step) or there is no OpenBLAS to drive."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if getattr(_policy, "max", None) is not None or _openblas() is None:
            return fn(*args, **kwargs)
        with thread_policy():
            return fn(*args, **kwargs)

    return wrapper


def _set_threads(want: int) -> None:
    if want != _policy.now:
        _openblas()[1](want)
        _policy.now = want


def _threads_for(size: int) -> None:
    """gemv, ger, dot: one thread below THREADED_MIN, the allowed ones above."""
    allowed = getattr(_policy, "max", None)
    if allowed is None:
        return
    _set_threads(1 if size < THREADED_MIN else allowed)


class _Shape:
    """What the tuner knows about one product shape: the thread count in use, its recent times."""

    __slots__ = ("threads", "recent", "since", "interval", "favour")

    def __init__(self, threads: int):
        self.threads, self.recent, self.since, self.interval, self.favour = threads, [], 0.0, PROBE_MIN, None

    def typical(self) -> float:
        return sorted(self.recent)[len(self.recent) // 2]  # the median of the last few products

    def record(self, seconds: float) -> bool:
        """Note one product's time on the current count; True when the other count is due a probe
        (its interval of product time has passed, or — on several threads — this product took 4× the
        usual: cores taken; on one thread a slow product says the same, and more threads would not help)."""
        spike = self.threads > 1 and len(self.recent) >= 3 and seconds > 4.0 * self.typical()
        self.recent.append(seconds)
        if len(self.recent) > 5:
            del self.recent[0]
        self.since += seconds
        return spike or self.since >= self.interval

    def judge(self, other: int, seconds: float) -> None:
        """The probe's result: ``seconds`` for the same product on ``other`` threads. Two probes in a
        row must find the other count decisively faster before the shape switches (one lucky or
        unlucky time slice does not make it flip back and forth): to one thread at SWITCH × the usual
        time, back to more at SWITCH_BACK ×."""
        if seconds <= (SWITCH if other < self.threads else SWITCH_BACK) * self.typical():
            if self.favour == other:  # the second time in a row: switch
                self.threads, self.recent, self.favour = other, [seconds], None
                self.interval = max(PROBE_MIN, 0.5 * self.interval)
            else:  # look again soon
                self.favour, self.interval = other, PROBE_MIN
        else:  # the choice holds: look again later
            self.favour, self.interval = None, min(2.0 * self.interval, PROBE_MAX)
        self.since = 0.0


_shapes: dict = {}
_clock = time.perf_counter


def _tuned_gemm(call, key, allowed: int, probe) -> None:
    """Run ``call()`` (the product) on the shape's thread count; now and then time ``probe()`` (the
    same product into scratch memory) on the other count."""
    shape = _shapes.get(key)
    if shape is None:
        shape = _shapes[key] = _Shape(allowed)
    _set_threads(shape.threads)
    t = _clock()
    call()
    if shape.record(_clock() - t):
        other = 1 if shape.threads > 1 else allowed
        _set_threads(other)
        # probing more threads after a stretch on one: their first product also wakes the parked
        # pool (measured: it then never looked faster, and a shape stayed on one thread long after
        # the load that put it there had gone); the faster of two products is the pool's speed
        seconds = math.inf
        for _ in range(2 if other > 1 else 1):
            t = _clock()
            probe()
            seconds = min(seconds, _clock() - t)
        shape.judge(other, seconds)


def _fortran(M: np.ndarray) -> tuple[np.ndarray, int]:
    """(array, trans) such that op(array) = M with array Fortran-ordered (no copy if possible)."""
    if M.flags.f_contiguous:
        return M, 0
    if M.flags.c_contiguous:
        return M.T, 1  # Mᵀ is Fortran-ordered; BLAS transposes it back
    return np.asfortranarray(M), 0


def matmul(A: np.ndarray, B: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """A @ B for 2-D arrays of one float dtype; written into ``out`` (C-ordered) when given."""
    m, k = A.shape
    n = B.shape[1]
    if m * n * k < SMALL:
        return np.matmul(A, B, out=out)
    if out is None:
        out = np.empty((m, n), dtype=A.dtype)
    gemm_update(out, 1.0, A, B, 0.0)
    return out


def gemm_update(C: np.ndarray, alpha: float, A: np.ndarray, B: np.ndarray, beta: float) -> None:
    """C ← β C + α A B in place; C (m, n) C-ordered, A (m, k), B (k, n).

    With β = 0, C's old contents are ignored (BLAS does not read them). A product
    with one row or one column is a matrix-vector product (gemv: OpenBLAS's gemm
    is many times slower on those shapes).
    """
    m, k = A.shape
    n = B.shape[1]
    if m * n * k < SMALL:
        product = np.matmul(A, B)
        if beta == 0.0:
            np.multiply(product, C.dtype.type(alpha), out=C)
        else:
            if beta != 1.0:
                C *= C.dtype.type(beta)
            C += product * C.dtype.type(alpha) if alpha != 1.0 else product
        return
    if m == 1 or n == 1:  # c = β c + α op(M) v: a row times B (cᵀ = Bᵀ a) or A times a column
        _threads_for(m * n * k)
        M, v = (B.T, A[0]) if m == 1 else (A, B[:, 0])
        a, trans = _fortran(M)
        c = C.reshape(-1)  # (n,) or (m,): contiguous either way
        res = _GEMV[C.dtype](alpha, a, np.ascontiguousarray(v), beta=beta, y=c, trans=trans,
                             overwrite_y=True)
        if res is not c:
            c[...] = res
        return
    a, trans_a = _fortran(B.T)  # Cᵀ = β Cᵀ + α Bᵀ Aᵀ in column-major terms
    b, trans_b = _fortran(A.T)
    Ct = C.T
    gemm = _GEMM[C.dtype]

    def product():
        res = gemm(alpha, a, b, beta=beta, c=Ct, trans_a=trans_a, trans_b=trans_b, overwrite_c=True)
        if res is not Ct:  # f2py had to copy (C not contiguous): write the result back
            Ct[...] = res

    allowed = getattr(_policy, "max", None)
    size = m * n * k
    if allowed is None or allowed == 1 or size < TUNED_MIN:
        _threads_for(size)  # (outside a policy: the count is left alone)
        product()
        return

    def probe():  # the same product into scratch memory (β = 0: C is not read)
        gemm(alpha, a, b, trans_a=trans_a, trans_b=trans_b)

    _tuned_gemm(product, (m, n, k, trans_a, trans_b, C.dtype.char), allowed, probe)


def ger_update(C: np.ndarray, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """C ← C + α x yᵀ in place (BLAS ger); C (m, n) C-ordered, x (m,), y (n,).

    In column-major terms Cᵀ ← Cᵀ + α y xᵀ, which is the same memory.
    """
    Ct = C.T
    _threads_for(C.size)
    res = _GER[C.dtype](alpha, y, x, a=Ct, overwrite_a=True)
    if res is not Ct:  # f2py had to copy (C not contiguous): write the result back
        Ct[...] = res


_DOT = {np.dtype(np.float32): blas.sdot, np.dtype(np.float64): blas.ddot}


def dot(x: np.ndarray, y: np.ndarray) -> float:
    """⟨x, y⟩ of two 1-D arrays, as a Python float.

    float32/float64 pairs of one dtype go to SciPy's BLAS at every length (OpenBLAS
    threads long dot products; SciPy's wrapper also leaves an overflow to inf without
    NumPy's warning, which the engine's overflow tests rely on); anything else to np.dot.
    """
    f = _DOT.get(x.dtype) if x.dtype == y.dtype else None
    if f is None:
        return float(np.dot(x, y))
    _threads_for(x.size)
    return float(f(x, y))


def all_finite(x: np.ndarray) -> bool:
    """Are all entries of x finite? One BLAS dot Σ x_i² decides when it is finite (NaN and ±inf
    propagate into it, squares never cancel), 3–4× faster than ``x.sum()`` and with no boolean
    temporary; where it is not (a NaN or inf, or squares that overflow), the entries decide."""
    flat = x.reshape(-1) if x.flags.c_contiguous else None
    if flat is not None and flat.size and flat.dtype in _DOT and math.isfinite(dot(flat, flat)):
        return True
    return bool(np.isfinite(x).all())


_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}


def axpy(y: np.ndarray, alpha: float, x: np.ndarray) -> None:
    """y ← y + α x in place (BLAS axpy): one pass over y, no temporary (NumPy's ``y += α * x``
    writes α x first); y and x 1-D arrays of one float dtype."""
    _threads_for(x.size)
    res = _AXPY[y.dtype](x, y, a=alpha)
    if res is not y:  # f2py had to copy (y not contiguous): write the result back
        y[...] = res
