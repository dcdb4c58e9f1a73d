"""Layer 1's products with the inputs X, dense or sparse: the one place where a SciPy sparse X is handled,
so that neither the network's passes nor the objective densify it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from mlplab.fast import blas


def issparse(X) -> bool:
    """Is X a SciPy sparse matrix or array (the inputs the first layer takes without densifying)?"""
    return scipy.sparse.issparse(X)


def input_product(X, W: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Layer 1's X (W^1)ᵀ, (S, N_1): BLAS for a dense X; for a sparse (CSR) X the product goes
    through scipy.sparse, never densifying X (``out`` is then not used: the result is a new array)."""
    if scipy.sparse.issparse(X):
        return np.asarray(X @ W.T)
    return blas.matmul(X, W.T, out=out)


def input_grad(dz: np.ndarray, X) -> np.ndarray:
    """Layer 1's dZᵀ X, (N_1, N_0), for a sparse X: (Xᵀ dZ)ᵀ through scipy.sparse (a transposed view)."""
    return np.asarray(X.T @ dz).T
