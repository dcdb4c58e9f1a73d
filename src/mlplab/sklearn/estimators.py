"""The estimators: :class:`MLPClassifier` and :class:`MLPRegressor` (scikit-learn's API and
parameters; the shared fit in :mod:`.base`)."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets, type_of_target,
                                      unique_labels)

from mlplab.losses import LOSSES
from mlplab.sklearn.base import _BaseMLP


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

    Not scikit-learn's: ``logits(X)`` gives z^L. Errors and warnings are
    scikit-learn's: a diverging fit raises ``ValueError`` naming the fix (its
    ``__cause__`` the :class:`mlplab.DivergenceError`); a budget that runs out
    warns ``ConvergenceWarning("Stochastic Optimizer: Maximum iterations …")``.
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


# the public path (pickles, mlplab.io's check, repr): mlplab.sklearn, where the estimators are imported from
MLPClassifier.__module__ = MLPRegressor.__module__ = "mlplab.sklearn"
