"""Activation functions φ and their derivatives φ′, side by side.

Each record holds ``phi(z) -> a`` and ``dphi(z, a) -> φ′(z)`` for element-wise
activations; ``a = phi(z)`` is passed to ``dphi`` so that derivatives which are
cheapest in terms of the activation (tanh′ = 1 − a², σ′ = a σ(−z)) reuse it.
σ′ is not a(1 − a): 1 − a cancels once a = σ(z) rounds near 1 (z ≳ 20), so
σ(−z) is evaluated from z.

Shapes: ``z`` and ``a`` are (S, N_ℓ) in batched use or (N_ℓ,) for one sample.

``backward(z, a, delta)`` turns δ^ℓ = ∂e/∂a^ℓ into ∂e/∂z^ℓ:

* element-wise φ: ∂e/∂z^ℓ = Diag(φ′(z^ℓ)) δ^ℓ, i.e. ``delta * dphi(z, a)``;
* softmax (output layer only): its Jacobian J = Diag(a) − a aᵀ is not diagonal,
  so ∂e/∂z = J δ = a ⊙ (δ − ⟨a, δ⟩).

All forms are numerically stable for |z| up to 1e4 in float64 and float32,
also under ``np.errstate(all="raise")`` (no overflow, no underflow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import expit

LEAKY_RELU_SLOPE = 0.01


def _exp_floor(dtype) -> float:
    """Smallest argument whose exp is still a normal float (exp(x) ≥ tiny).

    Clipping exponents there keeps ``exp`` from underflowing; the value it
    replaces (< 2.3e-308 in float64, < 1.2e-38 in float32) is below anything
    the result can resolve next to the max term, which is 1.
    """
    return float(np.log(np.finfo(dtype).tiny)) + 1.0


@dataclass(frozen=True)
class Activation:
    """One activation φ with its derivative.

    Attributes:
        name: registry name.
        phi: z -> a = φ(z), same shape and dtype as z.
        dphi: (z, a) -> φ′(z) element-wise; ``None`` for softmax, whose
            Jacobian is not diagonal (use :meth:`backward` / :meth:`jacobian`).
        output_only: may be used only on the last layer (softmax).
        dphi_max: max over z of φ′(z) (used to define "saturated" units).
        bound: sup_z |φ(z)| where it is finite (sigmoid, tanh, softmax: 1), else ``None``.
    """

    name: str
    phi: Callable[[np.ndarray], np.ndarray]
    dphi: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    output_only: bool = False
    dphi_max: float = 1.0
    bound: float | None = None

    @property
    def elementwise(self) -> bool:
        return self.dphi is not None

    def backward(self, z: np.ndarray, a: np.ndarray, delta: np.ndarray, out=None) -> np.ndarray:
        """∂e/∂z^ℓ from δ^ℓ = ∂e/∂a^ℓ; all arrays (S, N_ℓ) or (N_ℓ,).

        ``out``: where to write the result (may be ``delta`` itself: the training
        loop's preallocated δ buffer); by default a new array.
        """
        if self.dphi is not None:
            return np.multiply(delta, self.dphi(z, a), out=out)  # Diag(φ′(z^ℓ)) δ^ℓ
        # softmax: J δ with J = Diag(a) − a aᵀ
        inner = np.sum(delta * a, axis=-1, keepdims=True)
        return np.multiply(a, delta - inner, out=out)

    def jacobian(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """∂a^ℓ/∂z^ℓ for ONE sample, shape (N_ℓ, N_ℓ): Diag(φ′(z)), or the softmax Jacobian."""
        if self.dphi is not None:
            return np.diag(self.dphi(z, a))
        return np.diag(a) - np.outer(a, a)


# --- the functions, each next to its derivative ---------------------------------


def sigmoid_scalar(z, one=1.0):
    """σ(z) = 1 / (1 + e^{−z}) for ONE number: the per-component form of the scalar and compiled SGD steps.

    ``one`` is 1 in the caller's dtype (a float32 kernel stays in float32). e^{−z} is taken only
    for z ≥ 0 and e^z only for z < 0, so nothing overflows. Plain Python on ``math.exp``:
    :mod:`mlplab.fast.scalar` calls it as it is, :mod:`mlplab.fast.compiled` compiles it with Numba.
    """
    if z >= 0:
        return one / (one + math.exp(-z))
    e = math.exp(z)  # z < 0: no overflow
    return e / (one + e)


def log_sigmoid_scalar(z):
    """log σ(z) for ONE number, finite for any z: −log1p(e^{−z}) for z ≥ 0, z − log1p(e^z) below."""
    if z >= 0:
        return -math.log1p(math.exp(-z))
    return z - math.log1p(math.exp(z))


_SIGMOID_NUMPY_SIZE = 1024  # from this many entries on, NumPy's vectorised exp beats expit


def _sigmoid(z):
    # σ(z) = 1 / (1 + exp(−z)). SciPy's expit evaluates it one element at a time,
    # about 4× slower than NumPy's SIMD exp on a training block, but with far less
    # per-call overhead on the few entries of one sample. Both forms are accurate to
    # a few ulps for any z: for z ≪ 0, exp(−z) overflows to inf and 1/(1 + inf) = 0
    # is σ's limit (the true value is below the dtype's smallest normal number);
    # for z ≫ 0, exp(−z) underflows harmlessly to 0 and σ = 1
    # (σ itself underflows to a subnormal or 0 for z ≪ 0, also harmless).
    if not isinstance(z, np.ndarray) or z.size < _SIGMOID_NUMPY_SIZE or z.dtype.kind != "f":
        return expit(z)
    with np.errstate(over="ignore", under="ignore"):
        a = np.negative(z)
        np.exp(a, out=a)
        a += 1
        return np.reciprocal(a, out=a)


_SIGMOID_FAST_MAX = 1.0 - 2.0 ** -12  # up to here 1 − σ(z) by subtraction loses at most 12 bits


def _dsigmoid(z, a):
    # σ′(z) = σ(z)(1 − σ(z)) = σ(z) σ(−z), with σ(−z) = 1/(1 + e^z) evaluated directly: 1 − a
    # cancels where a = σ(z) ≈ 1 (relative error ≈ ε/σ(−z), 7e-8 at z = 20, and σ′ = 0 exactly from
    # z ≈ 37 on, where the true σ′ ≈ e^{−z} is a normal number down to z ≈ 708). Each factor is
    # accurate to a few ulps, so σ′ is too, for any z (relative 1e-15 in float64 for |z| ≤ 700).
    # Blocks: a / (1 + e^z) with NumPy's vectorised exp (the fastest accurate form measured, one exp
    # per entry: 5.7× a(1 − a)'s time in float32, ~11× in float64 without AVX-512; e^z overflows
    # to inf for z ≫ 0 and σ′ = a/inf = 0, the true value being below the smallest normal number).
    # One sample: expit(−z), with less per-call overhead.
    # Where no unit is near saturation (every a ≤ 1 − 2^−12), a(1 − a) itself is accurate to
    # relative ε·2^12 ≈ 9e-13 and costs no exp: one max over the block decides (NaN takes the exp path).
    if not isinstance(z, np.ndarray) or z.size < _SIGMOID_NUMPY_SIZE or z.dtype.kind != "f":
        return a * expit(np.negative(z))
    if a.max() <= _SIGMOID_FAST_MAX:
        s = np.subtract(1, a)
        return np.multiply(s, a, out=s)  # σ(z)(1 − σ(z))
    with np.errstate(over="ignore", under="ignore"):
        s = np.exp(z)
        s += 1
        return np.divide(a, s, out=s)


def _tanh(z):
    return np.tanh(z)


def _dtanh(z, a):
    return 1 - a * a  # tanh′ = 1 − tanh²


def _relu(z):
    return np.maximum(z, 0)


def _drelu(z, a):
    return (z > 0).astype(z.dtype)  # 0 at z = 0 (subgradient, as PyTorch and scikit-learn)


def _leaky_relu(z):
    return np.where(z > 0, z, z * z.dtype.type(LEAKY_RELU_SLOPE))


def _dleaky_relu(z, a):
    one, slope = z.dtype.type(1), z.dtype.type(LEAKY_RELU_SLOPE)
    return np.where(z > 0, one, slope)


def _identity(z):
    return z


def _didentity(z, a):
    return np.ones_like(z)


def _softplus(z):
    # log(1 + e^z) = max(z, 0) + log1p(e^{−|z|}); exponent clipped so exp never underflows
    neg_abs = np.maximum(-np.abs(z), _exp_floor(z.dtype))
    return np.maximum(z, 0) + np.log1p(np.exp(neg_abs))


def _dsoftplus(z, a):
    return expit(z)  # softplus′ = σ


def _exp(z):
    # e^z (the log link of Poisson regression, scikit-learn's "exp" output), the exponent clipped to
    # [log tiny + 1, log max − 1]: finite and normal for every finite z, no overflow or underflow
    return np.exp(np.clip(z, _exp_floor(z.dtype), _exp_ceiling(z.dtype)))


def _dexp(z, a):
    return a  # exp′ = exp (a itself, as clipped)


def _exp_ceiling(dtype) -> float:
    """Largest argument whose exp stays finite with a margin (e^(log max − 1) = max / e)."""
    return float(np.log(np.finfo(dtype).max)) - 1.0


def _softmax(z):
    # a_i = e^{z_i − m} / Σ_j e^{z_j − m}, m = max_j z_j; exponents clipped (no underflow)
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(np.maximum(shifted, _exp_floor(z.dtype)))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log a_i = (z_i − m) − log Σ_j e^{z_j − m}; exact, finite for any finite z."""
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(np.maximum(shifted, _exp_floor(z.dtype)))
    shifted -= np.log(e.sum(axis=-1, keepdims=True))
    return shifted


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _dsigmoid, dphi_max=0.25, bound=1.0),
        Activation("tanh", _tanh, _dtanh, bound=1.0),
        Activation("relu", _relu, _drelu),
        Activation("leaky_relu", _leaky_relu, _dleaky_relu),
        Activation("identity", _identity, _didentity),
        Activation("softplus", _softplus, _dsoftplus),
        Activation("exp", _exp, _dexp),  # φ′ unbounded: dphi_max 1 = φ′(0)
        Activation("softmax", _softmax, None, output_only=True, dphi_max=0.25, bound=1.0),
    )
}


def get_activation(name: str | Activation) -> Activation:
    """Look up an activation by name; unknown names raise ValueError listing the valid ones."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; valid activations are: {', '.join(ACTIVATIONS)}"
        )
    return ACTIVATIONS[name]
