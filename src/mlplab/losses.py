"""Sample-wise errors e(y, ŷ) and their gradients δ^L = ∂e/∂ŷ, side by side.

Shapes: targets ``y`` and predictions ``yhat`` are (S, N_L); ``value`` returns
the per-sample errors e^s, shape (S,); ``grad`` returns δ^L = ∂e/∂a^L, shape
(S, N_L).

Losses and the targets each accepts (see :meth:`Loss.prepare_targets`):

============================ ================================================== ==========================
loss                         e(y, ŷ)                                            targets Y
============================ ================================================== ==========================
``squared``                  Σ_i (y_i − ŷ_i)²  (the lecture's; no ½)             real values, (S,) when
                                                                                N_L = 1 or (S, N_L); or
                                                                                class labels 0..N_L−1 as
                                                                                (S,) (one-hot encoded)
``absolute``                 Σ_i |y_i − ŷ_i|                                     as ``squared``
``binary_cross_entropy``     −Σ_i [y_i log ŷ_i + (1 − y_i) log(1 − ŷ_i)]          labels in {0, 1} or {−1, +1}
                             (sigmoid output)                                   (or probabilities in [0, 1]):
                                                                                (S,) when N_L = 1, (S, N_L)
                                                                                for multi-label
``cross_entropy``            −Σ_i y_i log ŷ_i  (softmax output)                  class labels 0..K−1 as (S,),
                                                                                or one-hot / probability
                                                                                rows (S, K)
``perceptron``               Σ_i max(0, −y_i ŷ_i); with an identity output        labels in {−1, +1} or {0, 1}
                             ŷ = z, so SGD on it is the perceptron rule          (0 is read as −1)
``poisson``                  Σ_i [y_i log(y_i/ŷ_i) − y_i + ŷ_i], half the Poisson  counts / rates y ≥ 0, (S,)
                             deviance (exp output ŷ = e^z, scikit-learn's         when N_L = 1 or (S, N_L)
                             MLPRegressor(loss="poisson"))
============================ ================================================== ==========================

Some (loss, output activation) pairs are computed from the logits z^L by closed
forms, declared per pair in ``logit_forms`` and never used for other pairs:

* cross-entropies (``log_expit``, log-softmax): σ′ = σ(1 − σ) cancels the 1/ŷ
  terms, and ∂e/∂z^L = ŷ − y is the exact chain rule of that pair (canonical
  pairs only), finite even when ŷ rounds to 0 or 1;
* the lecture's own pair, sigmoid + squared error (non-canonical: here
  ∂e/∂z^L ≠ ŷ − y): e = Σ_i r_i², ∂e/∂z_i = −2 r_i σ(z_i) σ(−z_i) with
  r = y − σ(z) — the exact chain rule Diag(σ′(z)) δ^L, δ^L = 2(ŷ − y), nothing
  simplified away. The form exists for accuracy: r is built without
  cancellation, as (y − 1) + σ(−z) where y ≥ ½ (exact for y = 1) and y − σ(z)
  elsewhere, and σ′ = σ(z) σ(−z) with σ(−z) from z, not 1 − σ(z). Through ŷ
  alone, 1 − ŷ cancels once ŷ rounds near 1: E and ∇E lose all precision from
  z ≈ 20 (relative error 8 % at z = 36, exactly 0 from z ≈ 37 where the true
  e ≈ 1e-33); the logit form keeps them accurate to relative 1e-12 for |z| ≤ 700
  in float64, targets 0/1 included.

Every other pair goes through the general chain rule δ^L = ∂e/∂ŷ followed by
the activation's own backward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import log_expit, xlogy

from mlplab.activations import ACTIVATIONS, log_softmax

_SIGMOID = ACTIVATIONS["sigmoid"]
_EXP = ACTIVATIONS["exp"]


@dataclass(frozen=True)
class LogitForm:
    """Closed forms of e and ∂e/∂z^L for one (loss, output activation) pair.

    value(y, z) -> (S,) per-sample e; grad_z(y, z, a) -> (S, N_L) ∂e/∂z^L;
    value_and_grad_z(y, z, a) -> both (optional: where they share their work).
    """

    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad_z: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    value_and_grad_z: Callable[[np.ndarray, np.ndarray, np.ndarray], tuple] | None = None


@dataclass(frozen=True)
class Loss:
    """A sample-wise error e(y, ŷ) with its gradient ∂e/∂ŷ.

    Attributes:
        name: registry name.
        value: (y, yhat) -> (S,) per-sample errors e^s.
        grad: (y, yhat) -> (S, N_L) δ^L = ∂e/∂ŷ (the lecture's δ^L).
        prepare: (Y, n_out) -> (S, n_out) float targets; raises ValueError.
        output_activations: output activations this loss is defined for
            (``None``: any except softmax-only restrictions below).
        logit_forms: stable closed forms keyed by output activation name.
    """

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    prepare: Callable[[np.ndarray, int], np.ndarray]
    output_activations: frozenset[str] | None = None
    logit_forms: dict[str, LogitForm] = field(default_factory=dict)

    def check_output_activation(self, activation_name: str) -> None:
        """Raise ValueError if e(y, φ(z)) is not defined for this output activation."""
        allowed = self.output_activations
        if allowed is not None and activation_name not in allowed:
            raise ValueError(
                f"loss {self.name!r} is not defined for output activation "
                f"{activation_name!r}; use output_activation="
                f"{' or '.join(repr(a) for a in sorted(allowed))}"
            )

    def prepare_targets(self, Y, n_out: int, dtype=np.float64) -> np.ndarray:
        """Validate targets Y and return them as a (S, n_out) array of ``dtype``."""
        arr = np.asarray(Y)
        if arr.dtype == bool:
            arr = arr.astype(np.int64)
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(
                f"targets Y must be numeric, got dtype {arr.dtype}; "
                "map string class labels to integers 0..K-1 first"
            )
        if arr.ndim not in (1, 2):
            raise ValueError(f"targets Y must be 1-D or 2-D, got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError("targets Y are empty; give at least one sample")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):  # integers are always finite
            row = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise ValueError(f"targets Y contain NaN or inf (first at sample {row}); remove or impute them")
        return np.ascontiguousarray(self.prepare(arr, n_out), dtype=dtype)


# --- target preparation --------------------------------------------------------


def _as_column_or_matrix(Y: np.ndarray, n_out: int, loss: str) -> np.ndarray:
    if Y.ndim == 1:
        if n_out != 1:
            raise ValueError(
                f"loss {loss!r}: 1-D targets need one output unit, but the network has "
                f"{n_out}; give Y as a ({len(Y)}, {n_out}) array"
            )
        return Y.reshape(-1, 1)
    if Y.shape[1] != n_out:
        raise ValueError(
            f"loss {loss!r}: targets have {Y.shape[1]} columns but the network has {n_out} "
            f"output units; give Y with shape ({Y.shape[0]}, {n_out})"
        )
    return Y


def _one_hot(labels: np.ndarray, n_classes: int, loss: str) -> np.ndarray:
    as_int = labels.astype(np.int64, copy=False)
    # integer labels in 0..K−1 (two reductions) need no per-label masks; anything else is checked entry-wise
    in_range = labels.dtype.kind in "iu" and as_int.min() >= 0 and as_int.max() < n_classes
    bad = None if in_range else (as_int != labels) | (as_int < 0) | (as_int >= n_classes)
    if bad is not None and bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"loss {loss!r}: 1-D targets for {n_classes} output units are read as class labels "
            f"0..{n_classes - 1}, but sample {i} has label {labels[i].item()!r}; give labels in that "
            f"range or one-hot rows of shape ({len(labels)}, {n_classes})"
        )
    out = np.zeros((len(labels), n_classes))
    out[np.arange(len(labels)), as_int] = 1.0
    return out


def _prepare_real(loss: str):
    def prepare(Y: np.ndarray, n_out: int) -> np.ndarray:
        if Y.ndim == 1 and n_out > 1:
            return _one_hot(Y, n_out, loss)
        return _as_column_or_matrix(Y, n_out, loss)

    return prepare


def _binary01(Y: np.ndarray, loss: str, allow_probabilities: bool) -> np.ndarray:
    values = np.unique(Y)
    if np.all(np.isin(values, (-1, 1))) and np.any(values == -1):
        return (Y > 0).astype(np.float64)  # {−1, +1} → {0, 1}
    if allow_probabilities and values.min() >= 0 and values.max() <= 1:
        return Y.astype(np.float64)
    if np.all(np.isin(values, (0, 1))):
        return Y.astype(np.float64)
    raise ValueError(
        f"loss {loss!r} needs binary labels in {{0, 1}} or {{-1, +1}}"
        + (" (or probabilities in [0, 1])" if allow_probabilities else "")
        + f"; got values {values[:5].tolist()}"
    )


def _prepare_bce(Y: np.ndarray, n_out: int) -> np.ndarray:
    return _as_column_or_matrix(_binary01(Y, "binary_cross_entropy", True), n_out, "binary_cross_entropy")


def _prepare_ce(Y: np.ndarray, n_out: int) -> np.ndarray:
    if n_out < 2:
        raise ValueError(
            "loss 'cross_entropy' needs a softmax output with at least 2 units; "
            "for one sigmoid output use loss='binary_cross_entropy'"
        )
    if Y.ndim == 1:
        return _one_hot(Y, n_out, "cross_entropy")
    Y = _as_column_or_matrix(Y, n_out, "cross_entropy")
    sums = Y.sum(axis=1)
    if np.any(Y < 0) or not np.allclose(sums, 1.0, atol=1e-6):
        i = int(np.argmax((Y < 0).any(axis=1) | ~np.isclose(sums, 1.0, atol=1e-6)))
        raise ValueError(
            f"loss 'cross_entropy': 2-D targets must be one-hot or probability rows "
            f"(non-negative, summing to 1), but row {i} is {Y[i].tolist()}"
        )
    return Y


def _prepare_perceptron(Y: np.ndarray, n_out: int) -> np.ndarray:
    values = np.unique(Y)
    if not (np.all(np.isin(values, (-1, 1))) or np.all(np.isin(values, (0, 1)))):
        raise ValueError(
            f"loss 'perceptron' needs labels in {{-1, +1}} (or {{0, 1}}, read as -1/+1); "
            f"got values {values[:5].tolist()}"
        )
    return _as_column_or_matrix(np.where(Y > 0, 1.0, -1.0), n_out, "perceptron")


def _prepare_poisson(Y: np.ndarray, n_out: int) -> np.ndarray:
    Y = _as_column_or_matrix(Y, n_out, "poisson")
    if np.any(Y < 0):
        i = int(np.argwhere(Y < 0)[0][0])
        raise ValueError(f"loss 'poisson' needs targets y >= 0 (counts or rates), but sample {i} has "
                         f"{Y[i].tolist() if Y.shape[1] > 1 else Y[i, 0].item()!r}; use loss='squared' for "
                         "signed targets")
    return Y


# --- the losses, each value next to its gradient --------------------------------


def _squared(y, yhat):
    r = y - yhat
    return (r * r).sum(axis=1)  # e = Σ_i (y_i − ŷ_i)²


def _dsquared(y, yhat):
    return 2 * (yhat - y)  # ∂e/∂ŷ = 2(ŷ − y)


def _squared_sigmoid(y, z):
    # e = Σ_i r_i², r = y − σ(z) without cancellation: (y − 1) + σ(−z) where y ≥ ½ (y − 1 is exact
    # for ½ ≤ y ≤ 2 and 0 for the label 1, leaving r = σ(−z) to a few ulps even where σ(z) rounds
    # to 1), y − σ(z) elsewhere (r = −σ(z) for the label 0). One σ per entry: of −z or of z.
    upper = y >= 0.5
    u = _SIGMOID.phi(np.where(upper, np.negative(z), z))  # σ(−z) where y ≥ ½, σ(z) elsewhere
    with np.errstate(under="ignore"):  # r² below the smallest normal number rounds, as it should
        r = np.where(upper, (y - 1) + u, y - u)
        return (r * r).sum(axis=1)


def _squared_sigmoid_value_and_grad_z(y, z, a):
    # as _squared_sigmoid, with a = σ(z) from the forward pass and ONE σ(−z), evaluated from z
    # (not 1 − a), serving both r and σ′(z) = σ(z) σ(−z). Then ∂e/∂z = Diag(σ′(z)) δ^L with
    # δ^L = 2(ŷ − y) = −2r: the exact chain rule of the pair, nothing dropped.
    s = _SIGMOID.phi(np.negative(z))  # σ(−z)
    with np.errstate(under="ignore"):  # products below the normal range round to subnormals or 0
        r = np.where(y >= 0.5, (y - 1) + s, y - a)
        e = (r * r).sum(axis=1)
        r *= a
        r *= s
        r *= -2
        return e, r  # e (S,), ∂e/∂z = −2 r σ(z) σ(−z) (S, N_L)


def _squared_sigmoid_grad_z(y, z, a):
    return _squared_sigmoid_value_and_grad_z(y, z, a)[1]


def _absolute(y, yhat):
    return np.sum(np.abs(y - yhat), axis=1)


def _dabsolute(y, yhat):
    return np.sign(yhat - y)  # subgradient 0 where ŷ = y


def _bce(y, yhat):
    return -np.sum(xlogy(y, yhat) + xlogy(1 - y, 1 - yhat), axis=1)


def _dbce(y, yhat):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -y / yhat + (1 - y) / (1 - yhat)  # infinite when ŷ rounds to 0 or 1


def _bce_sigmoid(y, z):
    # log σ(z) and log(1 − σ(z)) = log σ(−z), from the logits: finite for any z
    return -np.sum(y * log_expit(z) + (1 - y) * log_expit(-z), axis=1)


def _bce_sigmoid_grad_z(y, z, a):
    # ∂e/∂z = (−y/a + (1−y)/(1−a)) · a(1−a) = a − y   (exact chain rule, simplified)
    return a - y


def _ce(y, yhat):
    return -np.sum(xlogy(y, yhat), axis=1)


def _dce(y, yhat):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -y / yhat


def _ce_softmax(y, z):
    return -(y * log_softmax(z)).sum(axis=1)  # −Σ_i y_i log softmax(z)_i


def _ce_softmax_grad_z(y, z, a):
    # ∂e/∂z = J (−y/a) = a Σ_i y_i − y = a − y for rows summing to 1 (exact chain rule)
    return a * y.sum(axis=1, keepdims=True) - y


def _perceptron(y, yhat):
    return np.sum(np.maximum(-y * yhat, 0), axis=1)  # e = Σ max(0, −y ŷ)


def _dperceptron(y, yhat):
    # subgradient −y wherever y ŷ ≤ 0 (a mistake or on the boundary), 0 elsewhere:
    # with w = 0 and γ = 1 this reproduces the classical perceptron update w ← w + y x
    return np.where(y * yhat <= 0, -y, 0 * y)


def _poisson(y, yhat):
    # half the Poisson deviance, scikit-learn's: Σ_i y_i log(y_i / ŷ_i) − y_i + ŷ_i (y log y = 0 at y = 0)
    with np.errstate(divide="ignore"):
        return np.sum(xlogy(y, y / yhat) - y + yhat, axis=1)


def _dpoisson(y, yhat):
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - y / yhat  # ∂e/∂ŷ


def _poisson_exp(y, z):
    # with ŷ = e^z: e = Σ_i y_i log y_i − y_i z_i − y_i + e^{z_i}, from the logits (no log of ŷ)
    return np.sum(xlogy(y, y) - y * z - y + _EXP.phi(z), axis=1)


def _poisson_exp_grad_z(y, z, a):
    # ∂e/∂z = Diag(e^z) (1 − y/ŷ) = ŷ − y   (the canonical log link: exact chain rule, simplified)
    return a - y


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            "squared",
            _squared,
            _dsquared,
            _prepare_real("squared"),
            # the lecture's sigmoid + squared error: the chain rule from the logits, for accuracy
            logit_forms={"sigmoid": LogitForm(_squared_sigmoid, _squared_sigmoid_grad_z,
                                              _squared_sigmoid_value_and_grad_z)},
        ),
        Loss("absolute", _absolute, _dabsolute, _prepare_real("absolute")),
        Loss(
            "binary_cross_entropy",
            _bce,
            _dbce,
            _prepare_bce,
            output_activations=frozenset({"sigmoid"}),
            logit_forms={"sigmoid": LogitForm(_bce_sigmoid, _bce_sigmoid_grad_z)},
        ),
        Loss(
            "cross_entropy",
            _ce,
            _dce,
            _prepare_ce,
            output_activations=frozenset({"softmax"}),
            logit_forms={"softmax": LogitForm(_ce_softmax, _ce_softmax_grad_z)},
        ),
        Loss(
            "perceptron",
            _perceptron,
            _dperceptron,
            _prepare_perceptron,
            # needs an output whose sign is the prediction: z itself, or tanh(z)
            output_activations=frozenset({"identity", "tanh"}),
        ),
        Loss(
            "poisson",
            _poisson,
            _dpoisson,
            _prepare_poisson,
            output_activations=frozenset({"exp"}),  # the log link: ŷ = e^z > 0
            logit_forms={"exp": LogitForm(_poisson_exp, _poisson_exp_grad_z)},
        ),
    )
}


def get_loss(name: str | Loss) -> Loss:
    """Look up a loss by name; unknown names raise ValueError listing the valid ones."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid losses are: {', '.join(LOSSES)}")
    return LOSSES[name]


def output_error(loss: Loss, activation, y: np.ndarray, z: np.ndarray, a: np.ndarray,
                 need_grad: bool = True):
    """Per-sample errors e^s and ∂e/∂z^L at the output layer.

    Args:
        loss: the loss.
        activation: the output layer's :class:`~mlplab.activations.Activation`.
        y: targets (S, N_L); z: z^L (S, N_L); a: a^L = ŷ (S, N_L).

    Returns:
        (e, dz): e of shape (S,), dz = ∂e/∂z^L of shape (S, N_L) (``None`` when
        not ``need_grad``). Uses the pair's closed logit form when one is
        declared, otherwise the general chain rule ∂e/∂z^L = Diag(φ′(z^L)) δ^L
        with δ^L = ∂e/∂ŷ.
    """
    form = loss.logit_forms.get(activation.name)
    if form is not None:
        if need_grad and form.value_and_grad_z is not None:
            return form.value_and_grad_z(y, z, a)
        return form.value(y, z), (form.grad_z(y, z, a) if need_grad else None)
    e = loss.value(y, a)
    return e, (activation.backward(z, a, loss.grad(y, a)) if need_grad else None)
