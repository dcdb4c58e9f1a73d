"""scikit-learn's vocabulary on mlplab's network: solver and activation names, its warnings'
module name, its initial weights, and ``coefs_`` / ``intercepts_`` as assignable views."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from mlplab.activations import ACTIVATIONS
from mlplab.optim.schedules import SCHEDULES, as_schedule

SOLVERS = ("gd", "sgd", "lecture_sgd", "minibatch", "momentum", "adam", "lbfgs")
SK_LOSSES = {"squared_error", "poisson"}  # scikit-learn's MLPRegressor losses (mlplab's LOSSES has "poisson")
HIDDEN_ACTIVATIONS = sorted(a for a in ACTIVATIONS if a != "softmax")
# scikit-learn's activation names that mlplab spells differently: accepted as parameters (and reported back
# unchanged by get_params), mapped to mlplab's for the network and back for ``out_activation_``
FROM_SKLEARN = {"logistic": "sigmoid"}
TO_SKLEARN = {v: k for k, v in FROM_SKLEARN.items()}


def mlplab_activation(name):
    return FROM_SKLEARN.get(name, name)


def sklearn_activation(name):
    """``out_activation_`` in scikit-learn's words: "logistic" for the sigmoid, else mlplab's name."""
    return TO_SKLEARN.get(name, name)


# scikit-learn's warnings come from this module: a filter written for them (``warnings.filterwarnings(...,
# module="sklearn")``, the idiom of scikit-learn's own examples) must catch mlplab's too
SK_MODULE = "sklearn.neural_network._multilayer_perceptron"


def warn(message, category=UserWarning):
    """``warnings.warn`` from this line of mlplab, filed under scikit-learn's MLP module name."""
    frame = sys._getframe(1)
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, module=SK_MODULE,
                           registry=globals().setdefault("__warningregistry__", {}))



class LayerList(list):
    """``coefs_`` / ``intercepts_``: a list of views into the network's flat parameters whose item
    assignment ``est.coefs_[i] = A`` copies A into the network (checked like the whole-list assignment),
    as with scikit-learn, whose lists hold the arrays themselves."""

    def __init__(self, views, name, check):
        super().__init__(views)
        self._name, self._check = name, check

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise TypeError(f"assign {self._name} whole (est.{self._name} = [...]) or one layer at a time "
                            f"(est.{self._name}[i] = array), not a slice")
        i = range(len(self))[index]
        a = self._check(self._name, i, value, self[i])
        list.__getitem__(self, i)[...] = a


def append_record(history, *, k, epoch, loss, time, exact, grad_norm=np.nan, step_size=np.nan,
                  layer_grad_norms=(), cost=0):
    """One per-epoch (sgd: the epoch's block estimate) or per-iteration (lbfgs: exact E) record in an
    :class:`mlplab.History`; a column the History has beyond these (a newer engine's) gets None."""
    record = dict(k=k, epoch=epoch, loss=loss, grad_norm=grad_norm, layer_grad_norms=list(layer_grad_norms),
                  step_size=step_size, ls_evals=0, capped=False, unbounded=False, cost=cost, forward_evals=0,
                  time=time, exact=exact)
    for name in getattr(history, "__dataclass_fields__", record):
        getattr(history, name).append(record.get(name))


def check_layer(name, ell, v, view):
    """One assigned layer: real numbers, the view's shape, finite; returns it as an array."""
    a = np.asarray(v)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name}[{ell}] must hold real numbers, got an array of dtype {a.dtype}")
    if a.shape != view.shape:
        raise ValueError(f"{name}[{ell}] has shape {a.shape}; this network needs {view.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}[{ell}] contains NaN or inf")
    return a


def sklearn_init(sizes, hidden_activations, rng):
    """scikit-learn's ``_init_coef`` for every layer, draw for draw from the RandomState ``rng``:
    W^ℓ and b^ℓ ~ U(−r, r), r = √(f / (N_{ℓ−1} + N_ℓ)), f = 2 for the logistic (sigmoid) hidden
    activation, else 6 (Glorot's uniform bound; scikit-learn uses the hidden activation's factor for
    the output layer too). A list of (W, b) for the MLP."""
    factor = 2.0 if all(a == "sigmoid" for a in hidden_activations) else 6.0
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        r = np.sqrt(factor / (fan_in + fan_out))
        coef = rng.uniform(-r, r, (fan_in, fan_out))  # scikit-learn's coefs_[ℓ] = (W^ℓ)ᵀ, drawn first
        layers.append((coef.T, rng.uniform(-r, r, fan_out)))
    return layers


def make_schedule(schedule, lr):
    """γ_k from the ``schedule`` parameter; names use ``learning_rate_init`` as their constant c."""
    if schedule is None:
        return as_schedule(float(lr))
    if isinstance(schedule, str):  # a name from SCHEDULES (checked by _parameter_constraints)
        return SCHEDULES[schedule](c=float(lr))
    return as_schedule(schedule)
