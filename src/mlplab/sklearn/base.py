"""The estimators' shared machinery: parameters and their checks, the fit (data, labels, the
network, the validation split, then the solver), and the fitted network in scikit-learn's terms."""

from __future__ import annotations

import numbers
from types import SimpleNamespace

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from mlplab.activations import ACTIVATIONS
from mlplab.losses import LOSSES
from mlplab.network import MLP, issparse
from mlplab.optim.schedules import SCHEDULES, Schedule
from mlplab.sklearn.compat import (FROM_SKLEARN, HIDDEN_ACTIVATIONS, SK_LOSSES, SOLVERS, LayerList, check_layer,
                                   mlplab_activation, sklearn_activation, sklearn_init)
from mlplab.sklearn.engine import fit_engine, fit_lbfgs
from mlplab.sklearn.epochs import FitData
from mlplab.sklearn.stochastic import fit_stochastic


class _BaseMLP(BaseEstimator):
    """Shared fitting logic; see :class:`MLPClassifier` for the parameters."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS) | set(FROM_SKLEARN)), list, tuple],
        "output_activation": [StrOptions(set(ACTIVATIONS) | set(FROM_SKLEARN)), None],
        "loss": [StrOptions(set(LOSSES) | SK_LOSSES), None],
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
            if mlplab_activation(a) not in HIDDEN_ACTIVATIONS:
                raise ValueError(f"unknown hidden activation {a!r}; valid ones are: "
                                 f"{', '.join(sorted(HIDDEN_ACTIVATIONS + list(FROM_SKLEARN)))}")
        return [int(n) for n in sizes], [mlplab_activation(a) for a in acts]

    def _batch(self, n_samples):
        if self.solver == "gd":
            return n_samples
        if self.solver == "lecture_sgd":
            return 1
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(self.batch_size, n_samples)


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
            out_act = mlplab_activation(self.output_activation or self._default_output_activation(n_out))
            if sk_init:
                init = sklearn_init([X.shape[1], *sizes, n_out], acts, self._random_state)
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

        self.out_activation_ = sklearn_activation(self.net_.activations[-1].name)
        loss = self._loss_name()
        f = self._data_factor(n_out)  # 1/(2k) for scikit-learn's ½-mean squared error, else 1
        fd = FitData(X=X, Y=Y, loss=loss, f=f, sw=sw if raw_weights else None, early=early, X_val=X_val,
                     y_val=y_val, sw_val=sw_val, incremental=incremental, best=best)
        if self.solver == "lbfgs":
            fit_lbfgs(self, fd)
        elif self.solver in ("sgd", "adam"):
            fit_stochastic(self, fd)
        else:
            fit_engine(self, fd)
        if not np.all(np.isfinite(self.net_.params)):  # scikit-learn's final check, word for word
            raise ValueError("Solver produced non-finite parameter weights. The input data may contain large "
                             "values and need to be preprocessed.")
        return self

    def _diverged(self, exc):
        raise ValueError(self._divergence_message(exc)) from exc

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
        return LayerList([W.T for W in self.net_.weights], "coefs_", check_layer)

    @coefs_.setter
    def coefs_(self, value):
        self._assign_layers("coefs_", value, [W.T for W in self._net_for_assignment("coefs_").weights])

    @property
    def intercepts_(self):
        """Bias vectors b^ℓ (views into the flat parameters); assignable like ``coefs_``."""
        check_is_fitted(self, "net_")
        return LayerList(list(self.net_.biases), "intercepts_", check_layer)

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
        arrays = [check_layer(name, ell, v, view) for ell, (v, view) in enumerate(zip(value, views))]
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
        return SimpleNamespace(learning_rate=state.lr, t=state.k)

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

