"""The network's speed-only parts: reused buffers, cached views, dtype plumbing, sparse inputs.

None of this changes a number: :mod:`mlplab.network` computes the same Z^ℓ, δ^ℓ and ∇E
without it, only with more allocations (a new (S, N_ℓ) array per layer and pass), more
``unpack`` calls, or a densified X.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DTYPES = {"float64": np.float64, "float32": np.float32}
CACHES = ("_last_views", "_workspaces")  # per-network caches: not copied, not pickled


def resolve_dtype(dtype) -> np.dtype:
    """Return np.float64 / np.float32 for the accepted spellings; ValueError otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return dt


def describe(a) -> str:
    """What ``a`` is, for an error message about an ``out=`` argument."""
    if isinstance(a, np.ndarray):
        return f"shape {a.shape}, dtype {a.dtype.name}" + ("" if a.flags.c_contiguous else ", not contiguous")
    return type(a).__name__


class Workspace:
    """Preallocated Z^ℓ (S, N_ℓ) and δ^ℓ (S, N_ℓ) buffers for passes over blocks of S rows.

    The training loop's block gradients run forward and backward on the same
    block size step after step; writing Z^ℓ = A^{ℓ−1} (W^ℓ)ᵀ and
    δ^{ℓ−1} = dZ^ℓ W^ℓ into the same memory each time (``out=``) saves the
    allocation and page faults of these temporaries. A pass that uses a
    workspace overwrites the previous one's Z and δ, so it is only used where
    they are consumed at once (:meth:`mlplab.objective.Problem.value_and_grad`
    on a block) and never handed to users.
    """

    def __init__(self, sizes: Sequence[int], S: int, dtype):
        self.Z = [np.empty((S, n), dtype=dtype) for n in sizes[1:]]  # Z^1 … Z^L
        # δ^1 … δ^{L−1}, each overwritten in place by ∂e/∂z^ℓ = Diag(φ′(z^ℓ)) δ^ℓ
        self.delta = [np.empty((S, n), dtype=dtype) for n in sizes[1:-1]]


def workspace(net, S: int) -> Workspace:
    """``net``'s :class:`Workspace` for blocks of S rows, kept for the four latest sizes (a
    shuffled epoch's blocks of |B| and its last, smaller one; the full passes' chunks and their last)."""
    spaces = net.__dict__.setdefault("_workspaces", {})
    if S not in spaces:
        if len(spaces) >= 4:
            spaces.pop(next(iter(spaces)))
        spaces[S] = Workspace(net.layer_sizes, S, net.dtype)
    return spaces[S]


def views(net, w: np.ndarray):
    """``net.unpack(w)``, remembered for the last w: the training loop passes the same array each step."""
    last = net.__dict__.get("_last_views")
    if last is None or last[0] is not w:
        last = net._last_views = (w, *net.unpack(w))
    return last[1], last[2]


def check_sparse_X(X, n_inputs: int, dtype):
    """A SciPy sparse X (S, N_0) as CSR of ``dtype`` (a copy only where format or dtype differ), its
    stored values checked: layer 1's products then go through scipy.sparse, X is never densified."""
    if X.ndim != 2:
        raise ValueError(f"sparse inputs X must be 2-D (samples, features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"inputs X must be real numbers, got dtype {X.dtype}")
    if X.shape[1] != n_inputs:
        raise ValueError(f"X has {X.shape[1]} features but the network expects N_0 = {n_inputs}")
    if X.shape[0] == 0:
        raise ValueError("X has no samples; give at least one row")
    X = X.tocsr().astype(dtype, copy=False)  # rows are samples: blocks are row slices of CSR
    if not np.all(np.isfinite(X.data)):
        row = int(np.searchsorted(X.indptr, np.flatnonzero(~np.isfinite(X.data))[0], side="right")) - 1
        raise ValueError(f"X contains NaN or inf (row {row}); remove or impute it")
    return X
