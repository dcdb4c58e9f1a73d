"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in where scikit-learn's own MLP goes (Pipeline, GridSearchCV,
cross_val_score, clone, pickle), trained by mlplab's engine. scikit-learn's
solver names mean scikit-learn's algorithms: "sgd" is its mini-batch SGD with
(Nesterov) momentum and ``learning_rate`` constant / invscaling / adaptive,
"adam" is Adam on mini-batches, "lbfgs" is scipy's L-BFGS-B on the full-batch
objective. On top, what scikit-learn's MLP lacks: GD with exact or Armijo line
search ("gd"), the lecture's per-sample SGD ("lecture_sgd"), per-step schedules
γ_k, mlplab's momentum form ("momentum"), per-layer activations, the lecture's
losses, class weights, a gradient-norm stopping rule and the engine's history
(‖∇E‖, step sizes, cost, per-layer gradient norms) in ``history_``.

The objective is scikit-learn's: for a block B (all samples for gd/lbfgs),

    E_B(w) = (1/Σ_{s∈B} c_s) [ Σ_{s∈B} c_s f e(y^s, ŷ^s) + (alpha/2) Σ_ℓ ‖W^ℓ‖²_F ]

with c_s the sample (times class) weights (1 without), e the chosen loss and
f = 1/(2k) for the regressor's default loss "squared_error" (scikit-learn's
½·mean over the k outputs of (y_i − ŷ_i)², on mlplab's Σ_i (y_i − ŷ_i)²) and 1
otherwise (the cross-entropies are scikit-learn's log-loss already; an explicit
loss="squared" keeps the lecture's Σ_i (y_i − ŷ_i)²). ``loss_``, ``loss_curve_``
and ``best_loss_`` are this E, on scikit-learn's scale. Biases are not penalised.
With k > 1 outputs scikit-learn's gradient is that of ½Σ_i (it back-propagates
ŷ − y), k times its reported loss's: "sgd", "adam" and "lbfgs" step along that
gradient, as scikit-learn's (same weights, same R²), while mlplab's own solvers
("gd" with its line searches, "minibatch", "momentum", "lecture_sgd")
differentiate the loss they report. For k = 1 the two are the same function.
Likewise the classifier's E for "sgd", "adam" and "lbfgs" is scikit-learn's
log-loss value, computed from the probabilities clipped to [eps, 1 − eps] (it
differs from the exact cross-entropy only on saturated outputs, where L-BFGS-B's
line search and the stopping rules then decide as scikit-learn's do).
"sgd" and "adam" are scikit-learn's loop (each block's E_B and penalty over its
own |B| rows, the last block included); mlplab's own solvers run through
:func:`mlplab.train` with the penalty divided by the nominal batch size (the
mean weight times it).

X may be sparse (SciPy CSR/CSC matrices or arrays) for fit, partial_fit and every
prediction method, with every solver: layer 1's products Z^1 = X (W^1)ᵀ and
∇_{W^1} = (Xᵀ dZ^1)ᵀ go through scipy.sparse and the data are never densified
(:mod:`mlplab.network`). Initial weights are scikit-learn's by default
(``init="sklearn"``: W and b uniform in ±√(f/(N_{ℓ−1} + N_ℓ)), f = 2 for the
logistic activation, else 6).

scikit-learn is imported only by this module: ``import mlplab`` does not load it.
"""

from __future__ import annotations

import numbers
import sys
import time
import warnings

from dataclasses import replace

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils import shuffle as sk_shuffle
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils._available_if import available_if
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets, type_of_target,
                                      unique_labels)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from mlplab import _blas
from mlplab.activations import ACTIVATIONS
from mlplab.losses import LOSSES
from mlplab.network import MLP, issparse
from mlplab.objective import CHUNK, Problem
from mlplab.optim import GD, SGD, MiniBatchSGD, Momentum
from mlplab.optim.schedules import SCHEDULES, Schedule, as_schedule
from mlplab.train import DivergenceError, History, train

# scikit-learn's names mean scikit-learn's algorithms ("sgd", "adam", "lbfgs"); the rest are mlplab's own
class _SklearnShuffles(np.random.Generator):
    """The engine's sampling stream with scikit-learn's epoch orders: each ``permutation(S)`` (the
    sampler's new epoch) is scikit-learn's ``sample_idx = shuffle(sample_idx, random_state=rs)`` from its
    RandomState ``rs`` — so "adam", "momentum" and "minibatch" visit the same blocks as scikit-learn's
    stochastic solvers for the same random_state. Every other draw comes from ``seed``'s stream."""

    def __init__(self, seed: np.random.Generator, random_state: np.random.RandomState):
        super().__init__(type(seed.bit_generator)(seed.integers(2 ** 63)))
        self._random_state, self._order = random_state, None

    def permutation(self, x, axis=0):
        if not isinstance(x, (int, np.integer)):
            return super().permutation(x, axis)
        if self._order is None or len(self._order) != x:
            self._order = np.arange(x)
        self._order = sk_shuffle(self._order, random_state=self._random_state)
        return self._order


class _SummedBlocks(MiniBatchSGD):
    """solver="minibatch": the lecture's mini-batch SGD on the per-sample losses ℓ_j of the estimator's
    objective, w ← w − γ_k Σ_{j∈B_k} ∇ℓ_j(w) = w − γ_k |B_k| ∇E_B(w) — a block moves as far as
    "lecture_sgd" (γ_k per sample) would over the same samples, where scikit-learn's "sgd" and
    mlplab's "momentum"/"adam" step along the block mean ∇E_B."""

    sum_blocks = True


SOLVERS = ("gd", "sgd", "lecture_sgd", "minibatch", "momentum", "adam", "lbfgs")
_SK_LOSSES = {"squared_error", "poisson"}  # scikit-learn's MLPRegressor losses (mlplab's LOSSES has "poisson")
_HIDDEN_ACTIVATIONS = sorted(a for a in ACTIVATIONS if a != "softmax")
# scikit-learn's activation names that mlplab spells differently: accepted as parameters (and reported back
# unchanged by get_params), mapped to mlplab's for the network and back for ``out_activation_``
_FROM_SKLEARN = {"logistic": "sigmoid"}
_TO_SKLEARN = {v: k for k, v in _FROM_SKLEARN.items()}


def _mlplab_activation(name):
    return _FROM_SKLEARN.get(name, name)


def _sklearn_activation(name):
    """``out_activation_`` in scikit-learn's words: "logistic" for the sigmoid, else mlplab's name."""
    return _TO_SKLEARN.get(name, name)


# scikit-learn's warnings come from this module: a filter written for them (``warnings.filterwarnings(...,
# module="sklearn")``, the idiom of scikit-learn's own examples) must catch mlplab's too
_SK_MODULE = "sklearn.neural_network._multilayer_perceptron"


def _warn(message, category=UserWarning):
    """``warnings.warn`` from this line of mlplab, filed under scikit-learn's MLP module name."""
    frame = sys._getframe(1)
    warnings.warn_explicit(message, category, frame.f_code.co_filename, frame.f_lineno, module=_SK_MODULE,
                           registry=globals().setdefault("__warningregistry__", {}))


class _LayerList(list):
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


def _append(history, *, k, epoch, loss, time, exact, grad_norm=np.nan, step_size=np.nan, layer_grad_norms=(),
            cost=0):
    """One per-epoch (sgd: the epoch's block estimate) or per-iteration (lbfgs: exact E) record in an
    :class:`mlplab.History`; a column the History has beyond these (a newer engine's) gets None."""
    record = dict(k=k, epoch=epoch, loss=loss, grad_norm=grad_norm, layer_grad_norms=list(layer_grad_norms),
                  step_size=step_size, ls_evals=0, capped=False, unbounded=False, cost=cost, forward_evals=0,
                  time=time, exact=exact)
    for name in getattr(history, "__dataclass_fields__", record):
        getattr(history, name).append(record.get(name))


def _check_layer(name, ell, v, view):
    """One assigned layer: real numbers, the view's shape, finite; returns it as an array."""
    a = np.asarray(v)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name}[{ell}] must hold real numbers, got an array of dtype {a.dtype}")
    if a.shape != view.shape:
        raise ValueError(f"{name}[{ell}] has shape {a.shape}; this network needs {view.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}[{ell}] contains NaN or inf")
    return a


def _sklearn_init(sizes, hidden_activations, rng):
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


def _make_schedule(schedule, lr):
    """γ_k from the ``schedule`` parameter; names use ``learning_rate_init`` as their constant c."""
    if schedule is None:
        return as_schedule(float(lr))
    if isinstance(schedule, str):  # a name from SCHEDULES (checked by _parameter_constraints)
        return SCHEDULES[schedule](c=float(lr))
    return as_schedule(schedule)


class _BaseMLP(BaseEstimator):
    """Shared fitting logic; see :class:`MLPClassifier` for the parameters."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_HIDDEN_ACTIVATIONS) | set(_FROM_SKLEARN)), list, tuple],
        "output_activation": [StrOptions(set(ACTIVATIONS) | set(_FROM_SKLEARN)), None],
        "loss": [StrOptions(set(LOSSES) | _SK_LOSSES), None],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
        "line_search": [StrOptions({"exact", "armijo"}), None],
        "schedule": [StrOptions(set(SCHEDULES)), callable, Schedule, None],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "tol_grad": [Interval(numbers.Real, 0, None, closed="left"), None],
        "rtol_grad": [Interval(numbers.Real, 0, None, closed="left"), None],
        "momentum": [Interval(numbers.Real, 0, 1, closed="both")],  # 1: v^k = v^{k−1} + g^k, as scikit-learn
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="left")],  # 0 only without early_stopping
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Real, {np.inf})],
        "warm_start": ["boolean"],
        "shuffle": ["boolean"],
        "verbose": ["verbose"],
        "init": [str, list, tuple, np.ndarray],
        "monitor": [StrOptions({"batch", "full"})],
        "dtype": [StrOptions({"float64", "float32"}), None],
    }

    # --- configuration ------------------------------------------------------------

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        acts = self.activation
        if isinstance(acts, str):
            acts = [acts] * len(sizes)
        elif len(acts) != len(sizes):
            raise ValueError(
                f"activation must be one name or a list of {len(sizes)} names (one per hidden layer), got {acts!r}")
        for a in acts:
            if _mlplab_activation(a) not in _HIDDEN_ACTIVATIONS:
                raise ValueError(f"unknown hidden activation {a!r}; valid ones are: "
                                 f"{', '.join(sorted(_HIDDEN_ACTIVATIONS + list(_FROM_SKLEARN)))}")
        return [int(n) for n in sizes], [_mlplab_activation(a) for a in acts]

    def _batch(self, n_samples):
        if self.solver == "gd":
            return n_samples
        if self.solver == "lecture_sgd":
            return 1
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)

    def _engine_optimizer(self, n_samples):
        """The engine optimizer for mlplab's own solvers (its batch size, schedule, line search)."""
        sampling = "shuffle" if self.shuffle else "cyclic"
        lr = self.learning_rate_init
        if self.solver == "gd":
            return GD(self.line_search if self.line_search is not None else float(lr))
        schedule = _make_schedule(self.schedule, lr)
        if self.solver == "lecture_sgd":
            return SGD(schedule=schedule, sampling=sampling)
        if self.solver == "minibatch":  # the lecture's step along the block's summed sample gradients
            return _SummedBlocks(self._batch(n_samples), schedule=schedule, sampling=sampling)
        base = MiniBatchSGD(self._batch(n_samples), schedule=schedule, average=True, sampling=sampling)
        return Momentum(base, beta=self.momentum, nesterov=self.nesterovs_momentum)

    # --- fitting ------------------------------------------------------------------------

    def _loss_name(self):
        """mlplab's loss for the network; "squared_error" (scikit-learn's) is "squared" rescaled by f."""
        if self.loss == "squared_error":
            return "squared"
        return self.loss or self._default_loss(self.net_.activations[-1].name)

    def _data_factor(self, n_out):
        """f with E = (1/Σc) Σ_s c_s f e^s + …: 1/(2k) for scikit-learn's squared error ½·mean_i (y_i − ŷ_i)²
        (loss "squared_error", the regressor's default), 1 for every mlplab loss (loss="squared" is the
        lecture's Σ_i (y_i − ŷ_i)²) and for the cross-entropies (scikit-learn's log-loss already)."""
        return 1.0 / (2.0 * n_out) if self._sk_squared() else 1.0

    def _sk_squared(self):
        """Whether the loss is scikit-learn's ½-mean squared error (the regressor's default)."""
        sk_squared = self.loss == "squared_error" or (self.loss is None and not self._is_classifier)
        return sk_squared and self._loss_name() == "squared"

    def _check_solver(self):
        """partial_fit exists for the stochastic solvers only, as scikit-learn's (``available_if``)."""
        if self.solver == "lbfgs":
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. {self.solver} is not "
                                 "stochastic.")
        return True

    def _check_partial_fit(self):
        if self.early_stopping:  # scikit-learn's error, word for word
            raise ValueError("partial_fit does not support early_stopping=True")

    def _engine_rng(self):
        """The engine's Generator, seeded once from a fresh draw of random_state."""
        if getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return self._rng

    def _fit_dtype(self, first):
        """The dtype X is converted to: the network's when continuing, else ``dtype``, else float32 X's own.

        None means "float32 stays float32, anything else becomes float64", scikit-learn's rule for its MLP.
        """
        if not first:
            return self.net_.dtype
        return None if self.dtype is None else np.dtype(self.dtype)

    def _fit(self, X, y, sample_weight, incremental):
        first = not (incremental or self.warm_start) or not hasattr(self, "net_")
        X, y = self._validate_input(X, y, reset=first, incremental=incremental, dtype=self._fit_dtype(first))
        dtype = X.dtype
        Y = self._encode(y, dtype)
        sw = _check_sample_weight(sample_weight, X, dtype=dtype)
        cw = self._class_weight(y)
        if cw is not None:
            sw = sw * cw.astype(dtype)
        raw_weights = sample_weight is not None or cw is not None  # else c_s = 1 and Σ_B c = |B|

        X_val = Y_val = y_val = sw_val = None
        early = self.early_stopping and not incremental and self.solver != "lbfgs"  # lbfgs ignores it, as sklearn
        if early and self.validation_fraction == 0:
            raise ValueError("early_stopping=True needs a validation set: validation_fraction must be in (0, 1), "
                             f"got {self.validation_fraction!r}")
        n_out = Y.shape[1]
        if not float(np.sum(sw)) > 0:
            raise ValueError("sample_weight (times class_weight) must have a positive sum")
        # scikit-learn's random stream, used in its order: the initial weights (init="sklearn"), the
        # validation split, solver="sgd"'s shuffles — so that the same random_state starts from the same
        # weights and (sgd) visits the same blocks as scikit-learn's MLP
        self._random_state = check_random_state(self.random_state)
        stochastic = self.solver != "lbfgs"
        if first:
            init = self.init
            sk_init = isinstance(init, str) and init == "sklearn"
            # the engine's stream (mlplab's solvers' sampling, mlplab's initialisers), seeded from
            # random_state first; scikit-learn's solvers with its initialisation draw nothing else, as there
            self._rng = None
            if not (sk_init and self.solver in ("sgd", "adam", "lbfgs")):
                self._engine_rng()
            sizes, acts = self._hidden()
            out_act = _mlplab_activation(self.output_activation or self._default_output_activation(n_out))
            if sk_init:
                init = _sklearn_init([X.shape[1], *sizes, n_out], acts, self._random_state)
            self.net_ = MLP([X.shape[1], *sizes, n_out], activation=acts + [out_act], init=init,
                            seed=self._rng, dtype=dtype.name)
            self._opt_state = self._optimizer_kind = None
            self._sgd_state = None
            self.n_iter_ = 0
            self.t_ = 0
            # as scikit-learn's _initialize: lbfgs has no loss curve, best loss or validation scores
        if stochastic and (first or not hasattr(self, "loss_curve_")):  # (a warm start after lbfgs: start them)
            self.loss_curve_ = []
            self._no_improvement_count = 0
            self.best_loss_ = None if early else np.inf
            self.validation_scores_ = [] if early else None
            self.best_validation_score_ = -np.inf if early else None
        if early and getattr(self, "validation_scores_", None) is None:  # a warm start that adds early stopping
            self.validation_scores_, self.best_validation_score_ = [], -np.inf
        self.n_outputs_ = n_out
        self.n_layers_ = self.net_.n_layers + 1
        best = {"params": None}  # early stopping: the best weights (a later fit's start counts, as scikit-learn's)
        if early:
            if first:
                best["params"] = self.net_.params.copy()
            # scikit-learn stratifies a classifier's split on its binarized y when that has one column
            # (binary targets, one class), as the bool matrix scikit-learn holds
            stratify = Y.astype(bool) if (self._is_classifier and n_out == 1) else None
            X, X_val, Y, Y_val, y, y_val, sw, sw_val = train_test_split(
                X, Y, y, sw, test_size=self.validation_fraction, stratify=stratify,
                random_state=self._random_state)
            if X_val.shape[0] < 2:  # scikit-learn's error, word for word
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of "
                                 "your dataset.")

        self.out_activation_ = _sklearn_activation(self.net_.activations[-1].name)
        loss = self._loss_name()
        f = self._data_factor(n_out)  # 1/(2k) for scikit-learn's ½-mean squared error, else 1
        fit = dict(X=X, Y=Y, loss=loss, f=f, sw=sw if raw_weights else None, early=early, X_val=X_val,
                   y_val=y_val, sw_val=sw_val, incremental=incremental, best=best)
        if self.solver == "lbfgs":
            self._fit_lbfgs(**fit)
        elif self.solver in ("sgd", "adam"):
            self._fit_stochastic(**fit)
        else:
            self._fit_engine(**fit)
        if not np.all(np.isfinite(self.net_.params)):  # scikit-learn's final check, word for word
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    # --- the per-epoch bookkeeping of scikit-learn's stochastic solvers ---------------------------

    def _epoch_ends(self, loss, early, X_val, y_val, sw_val, best):
        """Append the epoch's loss, update the no-improvement count (scikit-learn's rule); True: patience ran out."""
        self.loss_curve_.append(loss)
        if self.verbose:
            k = self.n_iter_ if self.solver in ("sgd", "adam") else len(self.loss_curve_)  # (sgd, adam: this call's)
            print(f"Iteration {k}, loss = {loss:.8f}")
        # scikit-learn's comparisons, written as there: a NaN score or loss (a diverged network) compares
        # False both ways, so it resets the count and is never the best
        if early:
            score = float(self._score_encoded(X_val, y_val, sw_val))
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            worse = score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                best["params"] = self.net_.params.copy()
        else:
            worse = loss > self.best_loss_ - self.tol
            if loss < self.best_loss_:
                self.best_loss_ = loss
        self._no_improvement_count = self._no_improvement_count + 1 if worse else 0
        return self._no_improvement_count > self.n_iter_no_change

    def _finish_stochastic(self, early, best, incremental, ran_out, grad_norm):
        if incremental:
            self.best_loss_ = min(self.best_loss_, self.loss_)
        if early:
            self.best_loss_ = None
            if best["params"] is not None:
                self.net_.params[...] = best["params"]
        if not incremental and ran_out:
            # scikit-learn's sentence first, so that filters on "Stochastic Optimizer" catch it
            head = "Stochastic Optimizer" if self.solver != "gd" else "Gradient Descent"
            _warn(f"{head}: Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                          f"converged yet. {type(self).__name__}(solver={self.solver!r}): the budget of "
                          f"max_iter={self.max_iter} {'iterations' if self.solver == 'gd' else 'epochs'} ran out "
                  f"(||grad E|| = {grad_norm:.3g}); raise max_iter or check the step size", ConvergenceWarning)

    def _diverged(self, exc):
        raise ValueError(self._divergence_message(exc)) from exc

    # --- mlplab's own solvers, through mlplab.train ----------------------------------------------

    def _fit_engine(self, X, Y, loss, f, sw, early, X_val, y_val, sw_val, incremental, best):
        n = X.shape[0]
        # weighted means as scikit-learn's MLP: data term (1/Σc) Σ c_s f e^s and penalty alpha/(2 Σc) ‖W‖²,
        # so that a weight of 2 equals a repeated row; the engine's "mean" divides by n, hence f c/mean(c)
        if sw is None:
            mean_w, c = 1.0, (None if f == 1.0 else np.full(n, f, dtype=X.dtype))
        else:
            mean_w = float(np.mean(sw))
            c = sw * sw.dtype.type(f / mean_w)
        optimizer = self._engine_optimizer(n)
        if isinstance(optimizer, _SummedBlocks) and mean_w != 1.0:  # Σ_{j∈B} c_j ∇ℓ_j (a weight of 2 is a
            gamma = optimizer.schedule  # repeated row) = mean(c) |B| ∇E_B: the engine's block mean is over c/mean(c)
            optimizer.schedule = as_schedule(lambda k: mean_w * gamma(k))
        if self._opt_state is not None and type(self._optimizer_kind) is not type(optimizer):
            self._opt_state = None  # the solver changed between warm starts: start its state afresh
        self._optimizer_kind = optimizer

        # one block holding every row: the engine's record at k is E(w^k), after the epoch's step, where
        # scikit-learn's epoch loss is the block's loss before it — the previous record's
        whole = self.solver != "gd" and self._batch(n) >= n
        before = {"loss": None}

        def per_epoch(record):
            loss = before["loss"] if whole else record["loss"]
            before["loss"] = record["loss"]
            if record["k"] == 0:
                return False
            return self._epoch_ends(loss, early, X_val, y_val, sw_val, best)

        epochs = 1 if incremental else self.max_iter
        steps_per_epoch = 1 if self.solver == "gd" else -(-n // self._batch(n))
        try:
            result = train(self.net_, X, Y, loss=loss, optimizer=optimizer, epochs=epochs,
                           tol=self.tol_grad, rtol=self.rtol_grad, eval_every=steps_per_epoch,
                           callback=None if incremental else per_epoch,
                           seed=_SklearnShuffles(self._engine_rng(), self._random_state) if self.shuffle
                           else self._engine_rng(),
                           l2=self.alpha / (self._batch(n) * mean_w), reduction="mean",
                           sample_weight=c, opt_state=self._opt_state, monitor=self.monitor,
                           # stochastic solvers: only a non-finite loss or step is a divergence, as in
                           # scikit-learn (its SGD's loss may jump 1e4× in an epoch on unscaled data and recover)
                           diverge_factor=1e6 if self.solver == "gd" else None)
        except DivergenceError as exc:
            self._opt_state = None  # its buffers may hold inf; the network keeps the last finite weights
            self._diverged(exc)
        self._opt_state = result.opt_state
        self.history_ = result.history
        # this call's epochs (gd: iterations); partial_fit: 1 per call, as scikit-learn's
        self.n_iter_ = result.n_iter if self.solver == "gd" else -(-result.n_iter // steps_per_epoch)
        self.t_ += int(round(result.epochs * n))
        # (one whole block: the loss before the last step, as scikit-learn's)
        self.loss_ = result.history.loss[-2] if whole and len(result.history) > 1 else result.loss
        if incremental:
            self.loss_curve_.append(self.loss_)
        self._finish_stochastic(early, best, incremental, result.stop_reason in ("max_iter", "epochs", "time_limit"),
                                result.grad_norm)

    # --- scikit-learn's objective on mlplab's Problem -----------------------------------------

    def _sk_objective(self, X, Y, loss, f, sw, fg=None):
        """E_B(w) = (f Σ_{s∈B} c_s e^s + (alpha/2) Σ_ℓ ‖W^ℓ‖²) / Σ_{s∈B} c_s and its gradient, block B.

        scikit-learn's ``_backprop``: the weighted mean of the per-sample losses (f = 1/(2k) turns the
        lecture's Σ_i (y_i − ŷ_i)² into scikit-learn's ½-mean over the k outputs) plus the penalty divided
        by the block's weight sum (|B| without weights). Returns ``value_and_grad(w, idx, out, size)``:
        (E_B, ∇E_B), or with ``scaled=False`` (E_B, G, s) where ∇E_B = s G (one pass less: the caller
        folds s into its own update).

        ``fg`` (default f) is the data term's factor in the gradient: scikit-learn's squared error reports
        ½·mean over the k outputs (f = 1/(2k)) but back-propagates ŷ − y, the gradient of ½Σ_i (fg = ½),
        k times its reported loss's; "sgd", "adam" and "lbfgs" step along that gradient, as scikit-learn's.
        """
        fg = f if fg is None else fg
        problem = Problem(self.net_, X, Y, loss, reduction="sum", sample_weight=sw)
        slices = [s.W for s in self.net_.slices]
        alpha = float(self.alpha)
        sk_value = self._sklearn_log_loss(loss)
        if sk_value is not None:
            net = self.net_

            @_blas.with_thread_policy
            def data_term(w, idx, out):
                """(scikit-learn's log-loss of the block, ∇ Σ_B c_s e^s) from one forward pass: the gradient
                is the engine's (ŷ − y at the logits, scikit-learn's too), the value scikit-learn's, from
                the probabilities clipped to [eps, 1 − eps] — the value L-BFGS-B's line search and the
                stopping rules compare, so that they take scikit-learn's decisions on saturated outputs."""
                pieces = ([problem._block(idx)[:3]] if idx is not None or problem.S <= CHUNK else
                          [problem._rows(rows) for rows in problem._chunks()])
                value, g = 0.0, out
                for i, (X_B, Y_B, c_B) in enumerate(pieces):
                    ws = net.workspace(X_B.shape[0])
                    cache = net.forward_cache(X_B, w, ws=ws)
                    # scikit-learn's np.average over the rows, weighted back to a sum for the pieces
                    weight = X_B.shape[0] if c_B is None else float(np.sum(c_B))
                    A = cache[1][-1]
                    value += sk_value(Y_B, A, c_B) * (weight if len(pieces) > 1 else 1.0)
                    dz = A - Y_B  # ∂e/∂z^L of the cross-entropy on its canonical output (softmax, sigmoid)
                    if c_B is not None:
                        dz *= c_B[:, None]
                    g = net.backward(cache, dz, w, out=g, ws=ws, accumulate=i > 0)
                return value, g

        def value_and_grad(w, idx, out, size, scaled=True):
            total = float(size) if sw is None else float(np.sum(sw if idx is None else sw[idx]))
            if sk_value is None:
                E, g = problem.value_and_grad(w, idx, out=out)  # Σ_B c_s e^s and its gradient
            else:
                L, g = data_term(w, idx, out)  # (scikit-learn's mean log-loss, ∇ Σ_B c_s e^s)
            sq = 0.0
            if alpha:  # ∇ = (fg/Σc) (∇Σ c e + (alpha/fg) W^ℓ)
                for s in slices:
                    W = w[s]
                    sq += _blas.dot(W, W)
                    if scaled:  # scikit-learn's coef_grads += alpha * coefs, two roundings (no fused axpy)
                        g[s] += (alpha / fg) * W
                    else:
                        _blas.axpy(g[s], alpha / fg, W)
            if sk_value is None:
                E = (f * E + 0.5 * alpha * sq) / total
            else:  # scikit-learn's loss += (0.5 * alpha) * values / sw_sum
                E = float(L / total if problem.S > CHUNK and idx is None else L) + (0.5 * alpha) * sq / total
            if not scaled:
                return E, g, fg / total
            if fg != 1.0:
                g *= g.dtype.type(fg)  # (½ or 1: exact)
            g /= g.dtype.type(total)  # scikit-learn's division by sw_sum, for its rounding
            return E, g

        return value_and_grad

    def _sklearn_log_loss(self, loss):
        """scikit-learn's log-loss function (its value) where the classifier's loss is scikit-learn's
        (the default cross-entropy on a softmax or sigmoid output), else None."""
        if not self._is_classifier or self.loss is not None:
            return None
        from sklearn.neural_network._base import LOSS_FUNCTIONS

        out = self.net_.activations[-1].name
        if (out, loss) == ("softmax", "cross_entropy"):
            return LOSS_FUNCTIONS["log_loss"]
        if (out, loss) == ("sigmoid", "binary_cross_entropy"):
            return LOSS_FUNCTIONS["binary_log_loss"]
        return None

    # --- solvers "sgd" and "adam": scikit-learn's SGDOptimizer and AdamOptimizer -------------------

    def _fit_stochastic(self, X, Y, loss, f, sw, early, X_val, y_val, sw_val, incremental, best):
        """scikit-learn's ``_fit_stochastic`` for "sgd" and "adam": per epoch, shuffled blocks of
        ``batch_size`` (the last one shorter: its E_B and penalty are over its |B| rows); per block

            sgd:  v ← μ v − γ ∇E_B(w);  w ← w + v   (nesterovs_momentum: w ← w + μ v − γ ∇E_B(w), the new v)
            adam: m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;  γ_t = γ √(1 − β₂^t) / (1 − β₁^t);
                  w ← w − γ_t m / (√v + ε)      (g = ∇E_B(w), t counting the steps)

        (scikit-learn's ``SGDOptimizer`` / ``AdamOptimizer``), γ from ``learning_rate`` (sgd): "constant"
        (γ = learning_rate_init), "invscaling" (γ = learning_rate_init / (t + 1)^power_t after each
        epoch, t the samples seen), "adaptive" (γ / 5 whenever the loss, or validation score, has not
        improved by tol for more than n_iter_no_change epochs; stop once γ ≤ 1e-6). mlplab's
        :class:`~mlplab.optim.Momentum` keeps v = βv + g and steps −γ v: the same iterates while γ is
        constant, not when γ changes (scikit-learn's velocity carries the old γ), hence this loop.
        A ``schedule``, if given, replaces γ by γ_k per step (k counting steps).

        fit() starts the optimizer afresh (v, Adam's m, v and t), as scikit-learn's does, warm_start
        included; partial_fit continues it. A non-finite loss raises ValueError at once, keeping the last
        finite weights — except with early_stopping, where scikit-learn's loop goes on (validation score
        NaN) and the best weights are restored at the end.
        """
        n = X.shape[0]
        b = self._batch(n)
        if self.batch_size != "auto" and self.batch_size > n:  # scikit-learn's warning, word for word
            _warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        w = self.net_.params
        dt = w.dtype.type
        adam = self.solver == "adam"
        fg = 0.5 if f != 1.0 and self._sk_squared() else f  # scikit-learn's gradient of ½Σ_i (see _sk_objective)
        value_and_grad = self._sk_objective(X, Y, loss, f, sw, fg)
        state = getattr(self, "_sgd_state", None) if incremental else None
        if state is None or state.get("solver") != self.solver or state["v"].shape != w.shape:
            state = {"solver": self.solver, "v": np.zeros_like(w), "lr": float(self.learning_rate_init), "k": 0}
            if adam:
                state["m"] = np.zeros_like(w)
        self._sgd_state = state
        schedule = None if self.schedule is None else _make_schedule(self.schedule, self.learning_rate_init)
        mu = dt(self.momentum)
        b1, b2, eps = float(self.beta_1), float(self.beta_2), dt(self.epsilon)
        g = np.empty_like(w)
        g_epoch = np.empty_like(w)
        tmp = np.empty_like(w) if adam else None
        history = History()
        t0 = time.perf_counter()
        ran_out = True
        self.n_iter_ = 0
        epochs = 1 if incremental else self.max_iter
        grad_norm = np.nan
        order = np.arange(n) if self.shuffle else None
        for _ in range(epochs):
            start = w.copy()
            if self.shuffle:  # scikit-learn's shuffle of its sample indices, from its random stream
                order = sk_shuffle(order, random_state=self._random_state)
            acc = 0.0
            g_epoch[...] = 0
            v = state["v"]
            with np.errstate(over="ignore", invalid="ignore"), _blas.thread_policy():
                for i in range(0, n, b):
                    idx = order[i:i + b] if order is not None else slice(i, min(i + b, n))
                    m = min(i + b, n) - i
                    base = float(self.learning_rate_init) if schedule is None else float(schedule(state["k"]))
                    if adam:  # scikit-learn's AdamOptimizer._get_updates, operation for operation
                        E, g = value_and_grad(w, idx, g, m)  # ∇E_B
                        acc += E * m
                        _blas.axpy(g_epoch, m / n, g)
                        t = state["k"] + 1
                        M = state["m"]
                        M *= b1
                        np.multiply(g, 1.0 - b1, out=tmp)
                        M += tmp
                        np.square(g, out=tmp)
                        tmp *= 1.0 - b2
                        v *= b2
                        v += tmp
                        lr = base * np.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t)
                        state["lr"] = lr
                        np.sqrt(v, out=tmp)
                        tmp += eps
                        np.divide(np.multiply(M, -lr), tmp, out=tmp)
                        w += tmp
                        state["k"] = t
                        continue
                    E, g, scale = value_and_grad(w, idx, g, m, scaled=False)  # ∇E_B = scale g
                    acc += E * m
                    _blas.axpy(g_epoch, scale * m / n, g)
                    lr = float(dt(state["lr"] if schedule is None else base))
                    # in place by BLAS axpy: one pass per term, no temporaries
                    if mu == 0:  # v = −γ ∇E_B, kept once at the end of the epoch
                        _blas.axpy(w, -lr * scale, g)
                    else:
                        v *= mu
                        _blas.axpy(v, -lr * scale, g)  # v = μ v − γ ∇E_B
                        if self.nesterovs_momentum:  # w += μ v − γ ∇E_B
                            _blas.axpy(w, float(mu), v)
                            _blas.axpy(w, -lr * scale, g)
                        else:
                            _blas.axpy(w, 1.0, v)
                    state["k"] += 1
                if mu == 0 and not adam:  # the velocity of the epoch's last step, μ v − γ ∇E_B = −γ ∇E_B
                    np.multiply(g, dt(-lr * scale), out=v)
            self.loss_ = acc / n
            if self.monitor == "full":  # the exact E(w) and ∇E(w) after the epoch, one more pass
                with np.errstate(over="ignore", invalid="ignore"), _blas.thread_policy():
                    self.loss_, g_full = value_and_grad(w, None, g, n)
                g_epoch[...] = g_full
            self.t_ += n
            self.n_iter_ += 1
            grad_norm = float(np.linalg.norm(g_epoch))
            _append(history, k=state["k"], epoch=self.t_ / n, loss=self.loss_, grad_norm=grad_norm, exact=False,
                    step_size=float(lr), layer_grad_norms=[float(np.linalg.norm(g_epoch[s.W]))
                                                           for s in self.net_.slices],
                    cost=self.t_, time=time.perf_counter() - t0)
            if not early and not (np.isfinite(self.loss_) and np.all(np.isfinite(w))):
                w[...] = start  # the last finite weights
                self._sgd_state = None
                self._diverged(DivergenceError(
                    f"training diverged at epoch {self.n_iter_}: the loss or the weights became non-finite",
                    start.copy(), state["k"], history))
            # scikit-learn's order, partial_fit included: patience, iteration_ends(t_), trigger_stopping
            stop = self._epoch_ends(self.loss_, early, X_val, y_val, sw_val, best)
            if self.learning_rate == "invscaling" and not adam:
                state["lr"] = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
            if stop:  # scikit-learn's trigger_stopping, its verbose lines included
                what = "Validation score" if early else "Training loss"
                msg = (f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} "
                       "consecutive epochs.")
                if self.learning_rate == "adaptive" and not adam and state["lr"] > 1e-6:
                    state["lr"] /= 5.0
                    self._no_improvement_count = 0
                    if self.verbose:
                        print(msg + f" Setting learning rate to {state['lr']:f}")
                    stop = False
                elif self.verbose:
                    tail = (" Learning rate too small. Stopping." if self.learning_rate == "adaptive" and not adam
                            else " Stopping.")
                    print(msg + tail)
            if incremental or stop or (self.tol_grad is not None and grad_norm <= self.tol_grad) or (
                    self.rtol_grad is not None and grad_norm <= self.rtol_grad * history.grad_norm[0]):
                ran_out = False
                break
        self.history_ = history
        self._finish_stochastic(early, best, incremental, ran_out and self.n_iter_ >= self.max_iter, grad_norm)

    # --- solver "lbfgs": scipy's L-BFGS-B on the exact E(w), ∇E(w) ------------------------------

    def _fit_lbfgs(self, X, Y, loss, f, sw, early, X_val, y_val, sw_val, incremental, best):
        """``scipy.optimize.minimize(method="L-BFGS-B")`` on E(w) and ∇E(w) over all samples, with
        scikit-learn's options: maxfun=max_fun, maxiter=max_iter, gtol=tol; n_iter_ and the
        ConvergenceWarning from scikit-learn's ``_check_optimize_result``; loss_ = E at the result.

        As scikit-learn's: with a float32 network scipy evaluates E and ∇E at float32 points (it casts
        each x to x0's dtype) while L-BFGS-B's own iterates are float64, and the result is float64 — so
        the fitted network becomes float64. ``t_`` stays 0 and ``loss_curve_``, ``best_loss_`` and the
        validation scores are not set (the per-iteration E is in ``history_``)."""
        w = self.net_.params
        fg = 0.5 if f != 1.0 and self._sk_squared() else f  # scikit-learn's gradient of ½Σ_i (see _sk_objective)
        value_and_grad = self._sk_objective(X, Y, loss, f, sw, fg)
        n = X.shape[0]
        history = History()
        t0 = time.perf_counter()

        def fun(x):
            w[...] = x
            # a new gradient array per call: scipy keeps the previous one while it tries the next point
            return value_and_grad(w, None, np.empty_like(w), n)

        losses, times = [], []

        def record(intermediate_result):  # (the History is built once at the end: small fits feel its cost)
            losses.append(float(intermediate_result.fun))
            times.append(time.perf_counter() - t0)
            if self.verbose:
                print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}")

        with np.errstate(over="ignore", invalid="ignore"):
            res = scipy.optimize.minimize(fun, w.copy(), method="L-BFGS-B", jac=True, callback=record,
                                          options={"maxfun": self.max_fun, "maxiter": self.max_iter,
                                                   "gtol": self.tol})
        if self.net_.dtype != res.x.dtype:  # scikit-learn unpacks scipy's float64 result
            self.net_ = self.net_.copy(dtype=res.x.dtype.name)
        self.net_.params[...] = res.x
        # scikit-learn's check and warning text; re-issued from here under scikit-learn's module name
        # (its stacklevel would file it under the caller, mlplab.sklearn)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.n_iter_ = _check_optimize_result("lbfgs", res, self.max_iter)
        for w in caught:
            _warn(w.message, w.category)
        self.loss_ = float(res.fun)
        m = len(losses)  # the History's columns at once (per-iteration appends cost small fits ~5 %)
        columns = dict(k=list(range(1, m + 1)), epoch=[float(k) for k in range(1, m + 1)], loss=losses,
                       grad_norm=[np.nan] * m, layer_grad_norms=[[] for _ in range(m)], step_size=[np.nan] * m,
                       ls_evals=[0] * m, capped=[False] * m, unbounded=[False] * m, cost=[0] * m,
                       forward_evals=[0] * m, time=times, exact=[True] * m)
        for name in getattr(history, "__dataclass_fields__", columns):
            setattr(history, name, columns.get(name, [None] * m))
        self.history_ = history

    def _divergence_message(self, exc):
        if self.solver == "gd" and self.line_search is not None:
            fix = ("use line_search='armijo' or scale X and y (e.g. StandardScaler); "
                   "an exact line search diverging usually means badly scaled data")
        elif self.solver == "sgd":
            fix = (f"use a smaller learning_rate_init (now {self.learning_rate_init!r}) or "
                   "learning_rate='adaptive', or scale X and y (e.g. StandardScaler)")
        else:
            fix = (f"use a smaller learning_rate_init (now {self.learning_rate_init!r}) or a decaying schedule "
                   "(e.g. schedule='inverse'), or scale X and y (e.g. StandardScaler)")
        # scikit-learn's sentences first (code matches on them), then what happened and the fix
        return ("Solver produced non-finite parameter weights. The input data may contain large values and need "
                f"to be preprocessed. {type(self).__name__}(solver={self.solver!r}) diverged at iteration {exc.k}; "
                f"{fix}. The last finite weights are kept in net_ (the mlplab.DivergenceError is this error's "
                "__cause__)")

    def _validate_input(self, X, y, reset, incremental, dtype):
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, accept_sparse=["csr", "csc"],
                             dtype=(np.float64, np.float32) if dtype is None else dtype,
                             y_numeric=not self._is_classifier)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    # --- the fitted network in scikit-learn's orientation ---------------------------------

    @property
    def coefs_(self):
        """Weight matrices in scikit-learn's (n_in, n_out) orientation: coefs_[ℓ−1] = (W^ℓ)ᵀ (views).

        Assignable, as with scikit-learn: ``est.coefs_ = [A_1, ..., A_L]`` with A_ℓ of shape
        (N_{ℓ−1}, N_ℓ) copies the values into the network (cast to its dtype).
        """
        check_is_fitted(self, "net_")
        return _LayerList([W.T for W in self.net_.weights], "coefs_", _check_layer)

    @coefs_.setter
    def coefs_(self, value):
        self._assign_layers("coefs_", value, [W.T for W in self._net_for_assignment("coefs_").weights])

    @property
    def intercepts_(self):
        """Bias vectors b^ℓ (views into the flat parameters); assignable like ``coefs_``."""
        check_is_fitted(self, "net_")
        return _LayerList(list(self.net_.biases), "intercepts_", _check_layer)

    @intercepts_.setter
    def intercepts_(self, value):
        self._assign_layers("intercepts_", value, list(self._net_for_assignment("intercepts_").biases))

    def _net_for_assignment(self, name):
        if not hasattr(self, "net_"):
            raise NotFittedError(f"{name} can be assigned only once the network exists: call fit or partial_fit "
                                 f"on this {type(self).__name__} first, then assign {name}")
        return self.net_

    @staticmethod
    def _assign_layers(name, value, views):
        """Copy a list of per-layer arrays into the network's views, all or nothing, after checking each."""
        if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list of {len(views)} arrays (one per layer), "
                             f"got {type(value).__name__}")
        if len(value) != len(views):
            raise ValueError(f"{name} must have {len(views)} arrays (one per layer), got {len(value)}")
        arrays = [_check_layer(name, ell, v, view) for ell, (v, view) in enumerate(zip(value, views))]
        for a, view in zip(arrays, views):
            view[...] = a

    @property
    def _optimizer(self):
        """What scikit-learn's tests and some users read of its ``_optimizer``: ``learning_rate``, the
        current γ of "sgd" (after invscaling / adaptive changes) or Adam's last bias-corrected
        γ_t = γ √(1 − β₂^t) / (1 − β₁^t). Private, as there; the rest of scikit-learn's optimizer object
        (velocities, ms, vs) is not mirrored."""
        state = getattr(self, "_sgd_state", None)
        if state is None:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '_optimizer'")
        from types import SimpleNamespace

        return SimpleNamespace(learning_rate=state["lr"], t=state["k"])

    def _forward(self, X):
        """(Z, A) of the forward pass on X; X in float64 keeps float64 outputs from a float32 network
        (scikit-learn's products promote), float32 X a float64 network's."""
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=["csr", "csc"])
        return self._forward_checked(X)

    def _forward_checked(self, X):
        """The forward pass on X already validated (training data, scikit-learn's ``check_input=False``)."""
        net = self.net_
        if X.dtype != net.dtype:
            if net.dtype == np.float32:  # float64 X: the network's float32 weights, promoted
                net = net.copy(dtype="float64")
            else:
                X = X.astype(net.dtype)
        return net.forward_cache(net.check_X(X)[0] if issparse(X) else X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR/CSC: layer 1's products through scipy.sparse, never densified
        tags.non_deterministic = self.random_state is None
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier trained by mlplab's engine.

    Binary targets get one sigmoid output unit (thresholded at 0.5) and
    binary cross-entropy; multiclass targets a softmax layer and cross-entropy;
    multilabel indicator targets one sigmoid unit per label. Labels may be
    strings or integers.

    Parameters (scikit-learn's names where the meaning is the same):
        hidden_layer_sizes: sizes N_1..N_{L−1} of the hidden layers (default (100,)).
        activation: one hidden activation or a list, one per hidden layer
            (sigmoid, tanh, relu, leaky_relu, identity, softplus, exp; "logistic" is
            scikit-learn's name for sigmoid, accepted and kept as given by get_params).
        output_activation: override the output activation (default from the targets).
        loss: any mlplab loss defined for the output activation (default: the
            cross-entropy matching the output, scikit-learn's log-loss).
            MLPRegressor: "squared_error" (default, scikit-learn's ½·mean over
            the outputs of (y_i − ŷ_i)², so ``alpha``, ``tol``, the step and
            ``loss_``/``loss_curve_`` are on scikit-learn's scale) or "squared"
            (the lecture's Σ_i (y_i − ŷ_i)², 2k times larger with k outputs);
            "poisson" (scikit-learn's: half the Poisson deviance
            Σ_i y_i log(y_i/ŷ_i) − y_i + ŷ_i, mean over samples, exp output
            ŷ = e^z, targets y ≥ 0; out_activation_ "exp"). The classifier does
            not take "poisson" (scikit-learn's has no ``loss``).
        solver: scikit-learn's names mean scikit-learn's algorithms —
            "sgd" (mini-batch SGD over ``batch_size`` with momentum / Nesterov
            momentum and ``learning_rate`` as scikit-learn's SGDOptimizer),
            "adam" (default; Adam on mini-batches), "lbfgs" (scipy's L-BFGS-B on
            the full-batch E(w), ∇E(w); options maxiter=max_iter, maxfun=max_fun,
            gtol=tol; no partial_fit) — and mlplab's own: "gd" (full batch,
            ``line_search``), "lecture_sgd" (the lecture's per-sample SGD, one
            sample per step), "minibatch" (the lecture's mini-batch SGD, no momentum: w −= γ Σ_{j∈B} ∇ℓ_j,
            the block's summed sample gradients),
            "momentum" (mlplab's heavy ball / Nesterov, v = βv + g, w −= γ v).
        line_search: for "gd": "exact" (default), "armijo", or None for a
            constant step ``learning_rate_init``.
        schedule: γ_k for the stochastic solvers, applied at every step: None
            (constant ``learning_rate_init``), a name (constant, inverse, power,
            step, exponential — with c = ``learning_rate_init``), a callable
            k ↦ γ_k, or an :mod:`mlplab.optim.schedules` object. For "sgd" a
            given schedule replaces ``learning_rate`` (γ_k per step).
        learning_rate: for "sgd", scikit-learn's: "constant" (default),
            "invscaling" (γ = learning_rate_init / (t + 1)^power_t after each
            epoch, t = samples seen), "adaptive" (γ / 5 when the loss has not
            improved by tol for more than n_iter_no_change epochs; stop at γ ≤ 1e-6).
        power_t: the exponent of "invscaling" (default 0.5).
        max_fun: for "lbfgs", the budget of E evaluations (default 15000).
        alpha: L2 penalty, as scikit-learn's (see the module docstring).
        batch_size: mini-batch size for sgd/minibatch/momentum/adam ("auto": min(200, n)).
        learning_rate_init: the step size (or the schedule's c).
        max_iter: epochs for stochastic solvers, iterations for "gd" and "lbfgs".
        tol, n_iter_no_change: stop when the loss (or, with early_stopping, the
            validation score) has not improved by tol for n_iter_no_change epochs
            (``np.inf``: never).
        tol_grad: also stop when ‖∇E(w)‖ ≤ tol_grad (the lecture's criterion).
        rtol_grad: also stop when ‖∇E(w)‖ ≤ rtol_grad·‖∇E(w^0)‖ (scale-free).
        momentum, nesterovs_momentum: for solvers "sgd" and "momentum" (momentum in [0, 1], as scikit-learn).
        beta_1, beta_2, epsilon: for solver "adam".
        random_state: seeds the initial weights, the sampling and the validation split.
        early_stopping, validation_fraction: hold out data and keep the best weights
            (validation_fraction in [0, 1); 0 only without early_stopping).
        warm_start: continue from the previous fit's weights. "sgd" and "adam"
            restart their optimizer (velocity; Adam's moments and t) each fit, as
            scikit-learn's; mlplab's "momentum", "minibatch", "lecture_sgd" keep it.
        shuffle: shuffle the samples each epoch (otherwise cyclic order).
        verbose: print the loss each epoch.
        class_weight: None, "balanced" or {class: weight}, multiplying sample weights.
        init: initial weights. "sklearn" (default): scikit-learn's MLP initialisation,
            W^ℓ and b^ℓ ~ U(−r, r) with r = √(f / (N_{ℓ−1} + N_ℓ)), f = 2 when the
            hidden activation is "logistic" (sigmoid; for a list: every hidden
            layer's), else 6, drawn from ``random_state``. Or any of
            :mod:`mlplab.initializers` ("glorot": the same W with f = 6 and b = 0,
            "he", "normal(0.1)", explicit arrays, …).
        dtype: None (default), "float64" or "float32": the dtype of the network
            and of the computation. None follows scikit-learn's MLP: float32 X
            trains (and keeps) a float32 network, any other X a float64 one. The
            dtype is fixed by the first fit; warm starts and partial_fit convert X
            to the network's dtype, and so does predict.
        monitor: "batch" (default): for the stochastic solvers the per-epoch
            loss (``loss_curve_``, the stopping rule) and ``history_``'s
            gradient norms are the epoch's mean block values, as scikit-learn's
            loss curve, at no extra cost; "full": the exact E(w) and ∇E(w) on
            the training set after each epoch (one extra pass per epoch).

    Attributes:
        classes_, coefs_ (= (W^ℓ)ᵀ), intercepts_ (= b^ℓ), n_iter_, loss_,
        loss_curve_, best_loss_, validation_scores_, best_validation_score_,
        n_features_in_, feature_names_in_, n_layers_, n_outputs_,
        out_activation_ (scikit-learn's name: "logistic", "softmax", "identity";
        mlplab's for other output activations), t_, history_ (:class:`mlplab.History`),
        net_ (the :class:`mlplab.MLP`). ``coefs_`` and ``intercepts_`` can be
        assigned a list of arrays of the same shapes, or one layer at a time
        (``est.coefs_[i] = A``), as with scikit-learn. n_iter_ counts the epochs
        of the last fit or partial_fit call (1 per partial_fit). After "lbfgs",
        as scikit-learn's: ``t_`` is 0 and loss_curve_, best_loss_ and the
        validation scores are not set (``history_`` has the per-iteration E),
        and the network is float64 even for float32 X.

    Not scikit-learn's: ``logits(X)`` gives z^L; there is no ``decision_function``,
    as scikit-learn's MLPClassifier has none (tools that find one prefer it to
    predict_proba). scikit-learn's private ``_optimizer`` object is mirrored only
    in its ``learning_rate`` (the current γ of "sgd", Adam's bias-corrected γ_t),
    which users read to follow learning_rate="adaptive" and scikit-learn's own
    tests read; the rest of it (velocities, ms, vs) is private and not mirrored.

    Errors and warnings as scikit-learn's: a fit or partial_fit that diverges
    (non-finite loss or step) raises ``ValueError`` naming the fix, with the
    :class:`mlplab.DivergenceError` as its ``__cause__``; a budget that runs out
    warns ``ConvergenceWarning("Stochastic Optimizer: Maximum iterations (…)
    reached …")`` ("Gradient Descent: …" for solver "gd"); partial_fit with
    early_stopping and a warm-start fit on another set of classes raise ValueError.
    """

    _is_classifier = True
    _parameter_constraints = {
        **_BaseMLP._parameter_constraints,
        "loss": [StrOptions((set(LOSSES) | {"squared_error"}) - {"poisson"}), None],  # poisson: regressors only
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, output_activation=None, loss=None,
                 solver="adam", line_search="exact", schedule=None, alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200, tol=1e-4,
                 tol_grad=None, rtol_grad=None, momentum=0.9,
                 nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8, random_state=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, warm_start=False,
                 shuffle=True, verbose=False, max_fun=15000, class_weight=None, init="sklearn", dtype=None,
                 monitor="batch"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.solver = solver
        self.line_search = line_search
        self.schedule = schedule
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.tol_grad = tol_grad
        self.rtol_grad = rtol_grad
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.verbose = verbose
        self.max_fun = max_fun
        self.class_weight = class_weight
        self.init = init
        self.dtype = dtype
        self.monitor = monitor

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of the solver on (X, y), continuing the previous state.

        scikit-learn's signature and order. ``classes`` (all labels that will ever
        appear) is required on the first call. Raises ValueError with early_stopping=True.
        """
        self._check_partial_fit()
        if _check_partial_fit_first_call(self, classes):  # sets classes_: start a new network
            self._binarizer = None
            if hasattr(self, "net_"):
                del self.net_
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate_input(self, X, y, reset, incremental, dtype):
        X, y = super()._validate_input(X, y, reset, incremental, dtype)
        fresh = reset and not incremental  # the label encoding is fitted on this y
        if not fresh:
            check_classification_targets(y)
        if self.warm_start and not reset and not incremental:  # scikit-learn's check and message
            classes = unique_labels(y)
            if set(classes) != set(self.classes_):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                 f"call to fit. Previously got {self.classes_}, `y` has {classes}")
        if fresh:
            try:  # (LabelBinarizer checks the target type, as in scikit-learn's MLP: one pass over y less)
                self._binarizer = LabelBinarizer().fit(y)
            except ValueError:
                check_classification_targets(y)  # the clearer message for a regression target, if that is it
                raise
            self.classes_ = self._binarizer.classes_
        elif getattr(self, "_binarizer", None) is None:  # first partial_fit: classes_ set by the caller's list
            self._binarizer = LabelBinarizer().fit(self.classes_)
            if type_of_target(y) == "multilabel-indicator":
                self._binarizer = LabelBinarizer().fit(y)
        if not fresh and self._binarizer.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(f"`y` has classes not in `self.classes_`: labels {unseen.tolist()} not in "
                                 f"classes_ {self.classes_.tolist()}; pass every class in `classes` on the first "
                                 "partial_fit call")
        return X, y

    def _encode(self, y, dtype):
        """LabelBinarizer's encoding: binary (n, 1) 0/1 (one class: zeros); multiclass one-hot (n, K);
        multilabel the indicator matrix. Labels are already checked against classes_ (by
        _validate_input), so the 1-D cases are comparisons with classes_ (no second pass of checks)."""
        kind, classes = self._binarizer.y_type_, self.classes_
        if y.ndim == 1 and kind in ("binary", "multiclass"):
            if kind == "binary":
                if len(classes) < 2:
                    return np.zeros((y.shape[0], 1), dtype=dtype)
                return (y == classes[1]).astype(dtype)[:, None]
            return (y[:, None] == classes[None, :]).astype(dtype)
        return self._binarizer.transform(y).astype(dtype)

    def _class_weight(self, y):
        if self.class_weight is None:
            return None
        return compute_sample_weight(self.class_weight, y)

    def _default_output_activation(self, n_out):
        return "softmax" if self._binarizer.y_type_ == "multiclass" else "sigmoid"

    @staticmethod
    def _default_loss(out_act):
        return {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(out_act, "squared")

    def _score_encoded(self, X, y, sample_weight):
        """The validation score (accuracy) on already-validated X: no feature-name check, as scikit-learn's."""
        pred = self._labels(self._forward_checked(X)[1][-1])
        if np.issubdtype(pred.dtype, np.floating) and not np.all(np.isfinite(pred)):
            return np.nan
        return accuracy_score(y, pred, sample_weight=sample_weight)

    def logits(self, X):
        """The output layer's pre-activations z^L: (n,) for binary, else (n, n_outputs).

        Deliberately not named ``decision_function``: scikit-learn's MLPClassifier has none, and tools
        that find one prefer it to ``predict_proba`` (``CalibratedClassifierCV``, ``DecisionBoundaryDisplay``,
        the roc_auc scorers), so the name would change what code written for scikit-learn computes.
        """
        z = self._forward(X)[0][-1]
        return z[:, 0] if z.shape[1] == 1 and self._binarizer.y_type_ == "binary" else z

    def predict_proba(self, X):
        """Class probabilities: (n, n_classes); multilabel: (n, n_labels) per-label probabilities.

        Sigmoid outputs (binary, multilabel) are kept in the open interval (0, 1): σ(z) rounds to 1.0
        for z > 37 (float64), and scikit-learn's check_estimator requires 0 < p < 1; the clip moves a
        saturated value by one ulp (1 − 2⁻⁵³), never a prediction."""
        a = self._forward(X)[1][-1]
        if self._binarizer.y_type_ != "multiclass" and self.net_.activations[-1].name == "sigmoid":
            info = np.finfo(a.dtype)
            a = np.clip(a, info.tiny, 1 - info.epsneg)
        if self._binarizer.y_type_ == "binary" and a.shape[1] == 1:
            return np.hstack([1 - a, a])
        return a

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        return self._labels(self._forward(X)[1][-1])

    def _labels(self, a):
        """Labels from the output activations a^L (n, n_outputs), as scikit-learn's LabelBinarizer reads them."""
        kind = self._binarizer.y_type_
        if kind == "multiclass":
            return self.classes_[np.argmax(a, axis=1)]
        if kind == "binary":
            if len(self.classes_) == 1:  # one class seen: it is every prediction (scikit-learn's inverse_transform)
                return np.repeat(self.classes_, a.shape[0])
            return self.classes_[(a[:, 0] > 0.5).astype(int)]
        return (a > 0.5).astype(int)  # multilabel indicator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor trained by mlplab's engine.

    Identity output and scikit-learn's squared error ½·mean_i (y_i − ŷ_i)² by
    default (loss="squared_error"; loss="squared" is the lecture's Σ_i (y_i − ŷ_i)²);
    multi-output targets get one output unit each. Parameters and attributes as for
    :class:`MLPClassifier` (no ``class_weight``, no ``classes_``).
    """

    _is_classifier = False

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 output_activation=None, solver="adam", line_search="exact", schedule=None, alpha=0.0001,
                 batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200, tol=1e-4,
                 tol_grad=None, rtol_grad=None, momentum=0.9,
                 nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8, random_state=None,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, warm_start=False,
                 shuffle=True, verbose=False, max_fun=15000, init="sklearn", dtype=None, monitor="batch"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.solver = solver
        self.line_search = line_search
        self.schedule = schedule
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.tol_grad = tol_grad
        self.rtol_grad = rtol_grad
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.verbose = verbose
        self.max_fun = max_fun
        self.init = init
        self.dtype = dtype
        self.monitor = monitor

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to (X, y); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of the solver on (X, y), continuing the previous state.

        Raises ValueError with early_stopping=True, as scikit-learn.
        """
        self._check_partial_fit()
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode(self, y, dtype):
        self._y_1d = y.ndim == 1
        return (y.reshape(-1, 1) if y.ndim == 1 else y).astype(dtype)

    def _class_weight(self, y):
        return None

    def _default_output_activation(self, n_out):
        return "exp" if self.loss == "poisson" else "identity"  # scikit-learn's log link for "poisson"

    @staticmethod
    def _default_loss(out_act):
        return "squared"

    def _score_encoded(self, X, y, sample_weight):
        """The validation score (R²) on already-validated X: no feature-name check, and NaN for
        non-finite predictions (a diverged network), as scikit-learn's."""
        pred = self._forward_checked(X)[1][-1]
        pred = pred[:, 0] if self._y_1d else pred
        if not np.all(np.isfinite(pred)):
            return np.nan
        return r2_score(y, pred, sample_weight=sample_weight)

    def predict(self, X):
        a = self._forward(X)[1][-1]
        return a[:, 0] if self._y_1d else a

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _restore_estimator(kind: str, state: dict, net: MLP):
    """Rebuild a fitted estimator from a model file's metadata and network (see :mod:`mlplab.io`)."""
    from mlplab.optim import schedules

    cls = MLPClassifier if kind == "MLPClassifier" else MLPRegressor
    params = dict(state["params"])
    schedule = params.get("schedule")
    if isinstance(schedule, dict):
        fields = dict(schedule)
        params["schedule"] = getattr(schedules, fields.pop("schedule"))(**fields)
    for key in ("hidden_layer_sizes", "activation"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key]) if key == "hidden_layer_sizes" else list(params[key])
    est = cls(**params)
    if state["n_features_in"] != net.n_inputs:
        raise ValueError(f"n_features_in {state['n_features_in']} does not match the network's {net.n_inputs} inputs")
    est.net_ = net
    est.n_features_in_ = int(state["n_features_in"])
    if state.get("feature_names_in") is not None:
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    if cls is MLPClassifier:
        est.classes_ = np.asarray(state["classes"])
        kind_of_target = state["target_type"]
        if kind_of_target == "multilabel-indicator":
            est._binarizer = LabelBinarizer().fit(np.eye(len(est.classes_), dtype=int))
        else:
            est._binarizer = LabelBinarizer().fit(est.classes_)
        n_out = 1 if kind_of_target == "binary" else len(est.classes_)
        if est._binarizer.y_type_ != kind_of_target or n_out != net.n_outputs:
            raise ValueError(f"classes {state['classes']!r} do not match a network with {net.n_outputs} outputs")
    else:
        est._y_1d = bool(state["y_1d"])
    est.out_activation_ = _sklearn_activation(net.activations[-1].name)
    est.n_outputs_, est.n_layers_ = net.n_outputs, net.n_layers + 1
    est.n_iter_, est.t_, est.loss_ = int(state["n_iter"]), int(state["t"]), float(state["loss"])
    if state.get("loss_curve") is not None:  # (an lbfgs fit has no loss curve, as scikit-learn's)
        est.loss_curve_ = list(state["loss_curve"])
        est.best_loss_ = state["best_loss"]
        est.validation_scores_ = state["validation_scores"]
        est.best_validation_score_ = None if not est.validation_scores_ else max(est.validation_scores_)
    est.history_ = None  # the engine's history is not stored in model files
    est._opt_state = est._optimizer_kind = None  # a warm start after loading restarts the optimizer's state
    est._sgd_state = None
    est._rng = np.random.default_rng(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    est._no_improvement_count = 0
    return est
