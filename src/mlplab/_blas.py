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

import numpy as np
from scipy.linalg import blas

# M·N·K (or M·N for a matrix-vector product) below which OpenBLAS stays on one thread
# (its thresholds: 262,144 for gemm, 9,216 for gemv, 8,192 for ger); below this bound
# a product cannot wake a thread pool.
SMALL = 8192

_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}
_GEMV = {np.dtype(np.float32): blas.sgemv, np.dtype(np.float64): blas.dgemv}
_GER = {np.dtype(np.float32): blas.sger, np.dtype(np.float64): blas.dger}


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
    res = _GEMM[C.dtype](alpha, a, b, beta=beta, c=Ct, trans_a=trans_a, trans_b=trans_b,
                         overwrite_c=True)
    if res is not Ct:  # f2py had to copy (C not contiguous): write the result back
        Ct[...] = res


def ger_update(C: np.ndarray, alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """C ← C + α x yᵀ in place (BLAS ger); C (m, n) C-ordered, x (m,), y (n,).

    In column-major terms Cᵀ ← Cᵀ + α y xᵀ, which is the same memory.
    """
    Ct = C.T
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
    return float(np.dot(x, y)) if f is None else float(f(x, y))
