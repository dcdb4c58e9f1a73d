"""Code written for ``sklearn.neural_network`` runs unchanged on mlplab's estimators.

Each test compares with scikit-learn's own MLPClassifier / MLPRegressor: signatures,
error types and messages, warning texts, fitted attributes, parameter constraints.
"""

import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import sklearn.neural_network as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.utils._param_validation import Interval, Options, StrOptions  # noqa: E402
from sklearn.utils.estimator_checks import check_regressor_multioutput  # noqa: E402

import mlplab  # noqa: E402
from mlplab.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

PAIRS = [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)]


def _quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


def _data(n=60, seed=0):
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
                               random_state=seed)
    return X, y


def _message(call):
    with pytest.raises(ValueError) as info:
        call()
    return str(info.value)


# --- 1. partial_fit ----------------------------------------------------------------------


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_partial_fit_signature_is_sklearns(ours, theirs):
    assert str(inspect.signature(ours.partial_fit)) == str(inspect.signature(theirs.partial_fit))


def test_partial_fit_positional_arguments_in_sklearns_order():
    X, y = _data()
    clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.partial_fit(X, y, np.ones(len(y)), [0, 1, 2])  # (X, y, sample_weight, classes)
    assert list(clf.classes_) == [0, 1, 2]
    ref = sk.MLPClassifier(hidden_layer_sizes=(4,), random_state=0).partial_fit(X, y, np.ones(len(y)), [0, 1, 2])
    assert list(ref.classes_) == list(clf.classes_)


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_partial_fit_with_early_stopping_raises_like_sklearn(ours, theirs):
    X, y = _data()
    kw = {"classes": [0, 1, 2]} if ours is MLPClassifier else {}
    expected = _message(lambda: theirs(early_stopping=True).partial_fit(X, y, **kw))
    got = _message(lambda: ours(early_stopping=True).partial_fit(X, y, **kw))
    assert got == expected == "partial_fit does not support early_stopping=True"


# --- 2. divergence -----------------------------------------------------------------------


def _diverging():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    return MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=1.0, random_state=0), X, y * 100


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_divergence_is_a_value_error_naming_the_fix(method):
    reg, X, y = _diverging()
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="smaller learning_rate_init") as info:
        for _ in range(1 if method == "fit" else 20):
            getattr(reg, method)(X, y)
    assert isinstance(info.value.__cause__, mlplab.DivergenceError)
    assert np.all(np.isfinite(reg.net_.params))  # the last finite weights are kept
    # scikit-learn's own per-sample SGD diverging on the same data: the same type, the same first sentence
    ref = sk.MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=1.0, batch_size=1,
                          momentum=0, random_state=0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _message(lambda: ref.fit(X, y))
    # scikit-learn's whole message first (code matches on it), then mlplab's diagnosis and fix
    assert theirs == ("Solver produced non-finite parameter weights. The input data may contain large values and "
                      "need to be preprocessed.")
    assert str(info.value).startswith(theirs + " MLPRegressor(solver='sgd') diverged at iteration")


MULTIOUTPUT = {
    "gd": {}, "minibatch": {}, "momentum": {}, "adam": {}, "sgd": {}, "lbfgs": {},
    # the lecture's per-sample SGD takes S steps per epoch on this unscaled data (|y| up to ~400): at the
    # default learning_rate_init=1e-3 it diverges (and says so, ValueError above), as scikit-learn's own
    # per-sample SGD (batch_size=1, momentum=0) does; a smaller step is what that error tells the user
    "lecture_sgd": {"learning_rate_init": 1e-4},
}


@pytest.mark.parametrize("solver", sorted(MULTIOUTPUT))
def test_check_regressor_multioutput_every_solver(solver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_regressor_multioutput("MLPRegressor", MLPRegressor(solver=solver, random_state=0,
                                                                 **MULTIOUTPUT[solver]))


# --- 3. class labels and class_weight through model files --------------------------------


LABELS = {
    "int": np.array([3, 7]),
    "numpy int32": np.array([3, 7], dtype=np.int32),
    "float": np.array([1.0, 2.0]),  # integral floats: scikit-learn calls 0.5 a continuous target
    "bool": np.array([False, True]),
    "str": np.array(["ham", "spam"]),
}


@pytest.mark.parametrize("kind", sorted(LABELS))
def test_class_weight_and_labels_round_trip_through_model_files(kind, tmp_path):
    X, y01 = make_classification(n_samples=60, n_features=4, random_state=0)
    labels = LABELS[kind]
    y = labels[y01]
    weights = {labels[0].item() if kind == "numpy int32" else labels[0]: 1.0, labels[1]: 3.0}
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0, class_weight=weights), X, y)
    mlplab.save(clf, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.class_weight == weights
    assert [type(k) for k in back.class_weight] == [type(np.asarray(k).item()) for k in weights]
    assert back.classes_.tolist() == clf.classes_.tolist()
    assert [type(c) for c in back.classes_.tolist()] == [type(c) for c in clf.classes_.tolist()]
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    twin = clone(back)  # clone checks that every parameter survives get_params/set_params unchanged
    assert twin.get_params() == back.get_params()
    refit = _quiet(twin, X, y)
    np.testing.assert_array_equal(refit.net_.params, clf.net_.params)  # same seed, same weights: same fit


def test_infinite_and_numpy_parameters_round_trip(tmp_path):
    X, y = _data()
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(np.int64(4),), n_iter_no_change=np.inf, max_iter=3,
                               class_weight={np.int64(0): np.float64(2.0), 1: 1.0, 2: 1.0}, random_state=0), X, y)
    mlplab.save(clf, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.n_iter_no_change == np.inf and back.hidden_layer_sizes == (4,)
    assert back.class_weight == {0: 2.0, 1: 1.0, 2: 1.0} and all(type(k) is int for k in back.class_weight)
    _quiet(clone(back), X, y)


# --- 4. assigning coefs_ and intercepts_ ------------------------------------------------


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_assigned_weights_give_sklearns_predictions(ours, theirs):
    """Copy a fitted scikit-learn MLP's weights into ours: the same forward pass, the same outputs."""
    X, y = _data()
    kw = dict(hidden_layer_sizes=(6, 5), activation="tanh", max_iter=30, random_state=0)
    ref = _quiet(theirs(**kw), X, y)
    est = _quiet(ours(**{**kw, "random_state": 1}), X, y)  # (random_state=0 would give ref's weights already)
    before = est.predict(X)
    est.coefs_ = [c.copy() for c in ref.coefs_]
    est.intercepts_ = list(ref.intercepts_)
    for a, b in zip(est.coefs_, ref.coefs_):
        np.testing.assert_array_equal(a, b)
    if ours is MLPClassifier:
        np.testing.assert_allclose(est.predict_proba(X), ref.predict_proba(X), rtol=1e-12, atol=1e-15)
    else:
        np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-12)
        assert not np.allclose(est.predict(X), before)


def test_assigning_weights_validates():
    X, y = _data()
    with pytest.raises(NotFittedError, match="call fit or partial_fit"):
        MLPRegressor().coefs_ = [np.zeros((4, 100)), np.zeros((100, 1))]
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0), X, y)
    good = [c.copy() for c in reg.coefs_]
    params = reg.net_.params.copy()
    with pytest.raises(ValueError, match="2 arrays"):
        reg.coefs_ = good[:1]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(1, 3\); this network needs \(3, 1\)"):
        reg.coefs_ = [good[0], good[1].T]
    with pytest.raises(ValueError, match="real numbers"):
        reg.intercepts_ = [np.zeros(3), np.array(["a"])]
    with pytest.raises(ValueError, match="NaN"):
        reg.intercepts_ = [np.full(3, np.nan), np.zeros(1)]
    with pytest.raises(ValueError, match="list of 2 arrays"):
        reg.coefs_ = np.zeros(3)
    np.testing.assert_array_equal(reg.net_.params, params)  # nothing was half-assigned
    reg.intercepts_ = [np.zeros(3), np.array([5])]  # integers are cast to the network's dtype
    reg.coefs_ = [np.zeros((4, 3)), np.zeros((3, 1))]
    np.testing.assert_array_equal(reg.predict(X), np.full(len(X), 5.0))


# --- 5. float32 stays float32 -------------------------------------------------------------


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_float32_input_keeps_float32_like_sklearn(ours, theirs):
    X, y = _data()
    for Xin in (X.astype(np.float32), X, X.astype(np.int64)):
        ref = _quiet(theirs(hidden_layer_sizes=(3,), max_iter=2, random_state=0), Xin, y)
        est = _quiet(ours(hidden_layer_sizes=(3,), max_iter=2, random_state=0), Xin, y)
        assert est.coefs_[0].dtype == ref.coefs_[0].dtype
        assert est.intercepts_[0].dtype == ref.intercepts_[0].dtype
        out = est.predict_proba(Xin) if ours is MLPClassifier else est.predict(Xin)
        assert out.dtype == ref.coefs_[0].dtype
    forced = _quiet(ours(hidden_layer_sizes=(3,), max_iter=2, dtype="float64"), X.astype(np.float32), y)
    assert forced.coefs_[0].dtype == np.float64  # an explicit dtype wins
    warm = _quiet(ours(hidden_layer_sizes=(3,), max_iter=2, warm_start=True), X.astype(np.float32), y)
    _quiet(warm, X, y)  # a warm start keeps the network's dtype
    assert warm.coefs_[0].dtype == np.float32


# --- 6. warm start on another set of classes -----------------------------------------------


@pytest.mark.parametrize("new_y", [lambda y: y + 1, lambda y: np.minimum(y, 1)], ids=["other", "subset"])
def test_warm_start_with_other_classes_raises_like_sklearn(new_y):
    X, y = _data()
    kw = dict(hidden_layer_sizes=(3,), max_iter=2, warm_start=True, random_state=0)
    ref = _quiet(sk.MLPClassifier(**kw), X, y)
    est = _quiet(MLPClassifier(**kw), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert _message(lambda: est.fit(X, new_y(y))) == _message(lambda: ref.fit(X, new_y(y)))
    _quiet(est, X, y)  # the same classes still continue


# --- 7. out_activation_ and activation="logistic" -----------------------------------------


def _targets(kind):
    X, y = _data()
    return X, {"binary": np.minimum(y, 1), "multiclass": y, "multilabel": np.eye(3, dtype=int)[y] | (X[:, :3] > 0),
               "regression": X @ np.arange(4.0)}[kind]


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression"])
def test_out_activation_uses_sklearns_names(kind):
    X, y = _targets(kind)
    ours, theirs = (MLPRegressor, sk.MLPRegressor) if kind == "regression" else (MLPClassifier, sk.MLPClassifier)
    ref = _quiet(theirs(hidden_layer_sizes=(3,), max_iter=2), X, y)
    est = _quiet(ours(hidden_layer_sizes=(3,), max_iter=2), X, y)
    assert est.out_activation_ == ref.out_activation_


def test_logistic_is_sigmoid_and_stays_logistic(tmp_path):
    X, y = _data()
    a = _quiet(MLPClassifier(hidden_layer_sizes=(3, 2), activation="logistic", max_iter=3, random_state=0), X, y)
    b = _quiet(MLPClassifier(hidden_layer_sizes=(3, 2), activation="sigmoid", max_iter=3, random_state=0), X, y)
    assert a.get_params()["activation"] == "logistic" and clone(a).activation == "logistic"
    assert [f.name for f in a.net_.activations] == ["sigmoid", "sigmoid", "softmax"]
    np.testing.assert_array_equal(a.net_.params, b.net_.params)
    c = _quiet(MLPClassifier(hidden_layer_sizes=(3, 2), activation=["logistic", "tanh"], max_iter=3), X, y)
    assert [f.name for f in c.net_.activations] == ["sigmoid", "tanh", "softmax"]
    mlplab.save(a, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.activation == "logistic" and back.out_activation_ == "softmax"


# --- 8. the ConvergenceWarning --------------------------------------------------------------


@pytest.mark.parametrize("solver", ["sgd", "lecture_sgd", "minibatch", "momentum", "adam"])
def test_convergence_warning_starts_like_sklearns(solver):
    X, y = _data()
    with pytest.warns(ConvergenceWarning) as theirs:
        sk.MLPClassifier(hidden_layer_sizes=(3,), solver="sgd", max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning) as ours:
        MLPClassifier(hidden_layer_sizes=(3,), solver=solver, learning_rate_init=1e-4, max_iter=3,
                      tol=0, random_state=0).fit(X, y)
    expected = str(theirs[0].message)
    assert expected == "Stochastic Optimizer: Maximum iterations (3) reached and the optimization hasn't converged yet."
    assert str(ours[0].message).startswith(expected)
    with warnings.catch_warnings():  # a filter written for scikit-learn's warning silences ours
        warnings.filterwarnings("error", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Stochastic Optimizer", category=ConvergenceWarning)
        MLPClassifier(hidden_layer_sizes=(3,), solver=solver, max_iter=2, tol=0, random_state=0).fit(X, y)


# --- 9. parameter constraints ---------------------------------------------------------------


def _covers(ours, c):
    """Whether one of our constraints accepts every value scikit-learn's constraint c accepts."""
    if isinstance(c, StrOptions):
        return any(isinstance(m, StrOptions) and c.options <= m.options for m in ours)
    if isinstance(c, Options):
        return any(type(m) is Options and c.options <= m.options for m in ours)
    if isinstance(c, Interval):
        def low_ok(m):
            return m.left is None or (c.left is not None and (c.left > m.left or (
                c.left == m.left and (m.closed in ("left", "both") or c.closed in ("right", "neither")))))

        def high_ok(m):
            return m.right is None or (c.right is not None and (c.right < m.right or (
                c.right == m.right and (m.closed in ("right", "both") or c.closed in ("left", "neither")))))

        return any(isinstance(m, Interval) and issubclass(c.type, m.type) and low_ok(m) and high_ok(m) for m in ours)
    return c in ours  # "boolean", "verbose", "random_state", "array-like", None, types


# What cannot be aligned here, and why. Closed: solver (lbfgs and scikit-learn's sgd), learning_rate, power_t,
# max_fun, and the regressor's loss ("squared_error" and "poisson": tests/test_sklearn_poisson.py).
NOT_ALIGNED: dict = {}


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_parameter_constraints_accept_what_sklearn_accepts(ours, theirs):
    gaps = {key for key, constraints in theirs._parameter_constraints.items()
            if key not in ours._parameter_constraints
            or not all(_covers(ours._parameter_constraints[key], c) for c in constraints)}
    assert gaps == set(NOT_ALIGNED)


@pytest.mark.parametrize("ours,theirs", PAIRS)
def test_constructor_defaults_are_sklearns(ours, theirs):
    """Every parameter scikit-learn's MLP takes exists here with the same default."""
    mine, ref = ours().get_params(), theirs().get_params()
    assert {k: mine.get(k, "missing") for k in ref} == ref


def test_lbfgs_warns_and_refuses_partial_fit_like_sklearn():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning) as theirs:
        ref = sk.MLPClassifier(**kw).fit(X, y)
    with pytest.warns(ConvergenceWarning) as ours:
        est = MLPClassifier(**kw).fit(X, y)
    assert str(ours[0].message) == str(theirs[0].message)
    assert str(ours[0].message).startswith("lbfgs failed to converge after 3 iteration(s)")
    assert est.n_iter_ == ref.n_iter_ == 3
    assert not hasattr(est, "partial_fit") and not hasattr(ref, "partial_fit")
    messages = []
    for obj in (est, ref):
        with pytest.raises(AttributeError) as info:
            obj.partial_fit(X, y)
        messages.append((str(info.value), str(info.value.__cause__)))  # the reason is chained, as sklearn's
    assert messages[0] == messages[1] == ("This 'MLPClassifier' has no attribute 'partial_fit'",
                                          "partial_fit is only available for stochastic optimizers. lbfgs is not "
                                          "stochastic.")


def test_values_sklearn_accepts_fit():
    X, y = _data()
    kw = dict(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    for params in (dict(n_iter_no_change=np.inf), dict(validation_fraction=0.0),
                   dict(solver="momentum", momentum=1.0), dict(n_iter_no_change=np.inf, early_stopping=True)):
        ref_params = {k: ("sgd" if v == "momentum" else v) for k, v in params.items()}
        _quiet(sk.MLPClassifier(**kw, **ref_params), X, y)
        est = _quiet(MLPClassifier(**kw, **params), X, y)
        assert est.n_iter_ == 3
    with pytest.raises(ValueError, match="validation_fraction must be in"):
        MLPClassifier(early_stopping=True, validation_fraction=0.0).fit(X, y)
    # momentum = 1: v^k = v^{k−1} + g^k, the running sum of the block gradients
    est = _quiet(MLPClassifier(solver="momentum", momentum=1.0, nesterovs_momentum=False, **kw), X, y)
    assert est._optimizer_kind.beta == 1.0


# --- initial weights as scikit-learn's ------------------------------------------------------


def _initial_weights(est, X, y):
    """The weights the first fit starts from: one plain GD step of 1e-300 changes nothing."""
    _quiet(est.set_params(solver="gd", line_search=None, learning_rate_init=1e-300, max_iter=1), X, y)
    return est.coefs_, est.intercepts_


@pytest.mark.parametrize("activation,factor", [("relu", 6.0), ("tanh", 6.0), ("logistic", 2.0)])
def test_default_initialisation_is_sklearns(activation, factor):
    """scikit-learn's _init_coef: W and b ~ U(−r, r), r = √(f/(fan_in + fan_out)), f = 2 for logistic."""
    X, y = make_classification(n_samples=50, n_features=300, n_informative=5, random_state=0)
    sizes = (300, 200, 1)
    coefs, intercepts = _initial_weights(MLPClassifier(hidden_layer_sizes=(200,), activation=activation,
                                                       random_state=0), X, y)
    theirs = sk.MLPClassifier(hidden_layer_sizes=(200,), activation=activation, max_iter=1, random_state=0)
    theirs._random_state = np.random.RandomState(0)
    for ell, (W, b) in enumerate(zip(coefs, intercepts)):
        r = np.sqrt(factor / (sizes[ell] + sizes[ell + 1]))
        W_ref, b_ref = theirs._init_coef(sizes[ell], sizes[ell + 1], np.float64)  # scikit-learn's own draw
        for ours_, ref in ((W, W_ref), (b, b_ref)):
            assert ours_.shape == ref.shape
            assert np.abs(ours_).max() <= r and np.abs(ref).max() <= r
            if ours_.size >= 200:  # uniform on (−r, r): the extremes come near ±r, the spread is r/√3
                assert np.abs(ours_).max() > 0.95 * r and np.abs(ref).max() > 0.95 * r
                assert np.std(ours_) == pytest.approx(r / np.sqrt(3), rel=0.1)
                assert np.std(ref) == pytest.approx(r / np.sqrt(3), rel=0.1)
        assert np.any(b != 0)  # biases are drawn, not zeros


def test_explicit_init_names_still_reach_the_engine():
    X, y = _data()
    coefs, intercepts = _initial_weights(MLPClassifier(hidden_layer_sizes=(6,), init="glorot", random_state=0), X, y)
    assert all(np.abs(b).max() < 1e-250 for b in intercepts)  # the engine's Glorot: b = 0 (moved by ~1e-300)
    assert np.abs(coefs[0]).max() <= np.sqrt(6 / (4 + 6))


@pytest.mark.parametrize("solver", ["minibatch", "momentum", "sgd", "adam", "lecture_sgd"])
def test_a_loss_spike_that_recovers_is_not_a_divergence(solver):
    """Unscaled inputs (scikit-learn's check_fit_check_is_fitted data, X around 100): scikit-learn's SGD loss
    jumps by 1e3-1e4× in an epoch and recovers; only a non-finite loss or step is a divergence, as there."""
    rng = np.random.RandomState(42)
    X, y = rng.normal(loc=100, size=(100, 2)), rng.normal(size=100)
    ref = _quiet(sk.MLPRegressor(solver="sgd", max_iter=30, random_state=0), X, y)
    assert max(ref.loss_curve_) > 1e3 * ref.loss_curve_[0]  # scikit-learn's own spike
    kw = dict(learning_rate_init=1e-4) if solver == "lecture_sgd" else {}
    est = _quiet(MLPRegressor(solver=solver, max_iter=30, random_state=0, **kw), X, y)
    assert np.all(np.isfinite(est.loss_curve_)) and np.isfinite(est.loss_)
    assert est.loss_ < max(est.loss_curve_)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs", "adam"])
def test_same_random_state_gives_scikit_learns_model(solver, early_stopping):
    """The same random_state draws scikit-learn's initial weights (its RandomState, its order), its
    validation split and its epoch shuffles, and the solvers are scikit-learn's formulas (adam's ε added to
    √v, as scikit-learn's): every solver ends at scikit-learn's weights to rounding, on classification
    and regression."""
    from sklearn.datasets import make_classification, make_regression
    from sklearn.neural_network import MLPClassifier as SkC
    from sklearn.neural_network import MLPRegressor as SkR

    if solver == "lbfgs" and early_stopping:
        pytest.skip("lbfgs ignores early_stopping in both libraries")
    # 400 rows: whole blocks of 200 (a last, partial block's penalty is alpha/batch_size in mlplab's adam,
    # alpha/|B| in scikit-learn's, which moves the weights by ~1e-7 in 15 epochs)
    n = 500 if early_stopping else 400  # (early stopping: 100 validation rows, 400 to train on)
    X, y = make_classification(n, 8, n_informative=5, n_classes=3, random_state=0)
    Xr, yr = make_regression(n, 6, noise=3.0, random_state=0)
    yr = yr / yr.std()
    tol = 1e-9
    for (sk_cls, ml_cls), (A, b) in (((SkC, MLPClassifier), (X, y)), ((SkR, MLPRegressor), (Xr, yr))):
        kw = dict(solver=solver, random_state=7, max_iter=15, early_stopping=early_stopping, hidden_layer_sizes=(12,),
                  validation_fraction=0.2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk, ml = sk_cls(**kw).fit(A, b), ml_cls(**kw).fit(A, b)
        for W_sk, W_ml in zip(sk.coefs_ + sk.intercepts_, ml.coefs_ + ml.intercepts_):
            np.testing.assert_allclose(W_ml, W_sk, rtol=0, atol=tol)
        assert ml.n_iter_ == sk.n_iter_
        np.testing.assert_allclose(ml.loss_curve_ if solver != "lbfgs" else [ml.loss_],
                                   sk.loss_curve_ if solver != "lbfgs" else [sk.loss_], rtol=1e-3)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_loss_curve_with_one_block_per_epoch_is_the_loss_before_each_step(solver):
    """batch_size ≥ n: scikit-learn's epoch loss is the block's loss before the epoch's step; so is mlplab's
    (fit and partial_fit), on its weights, draw for draw."""
    from sklearn.neural_network import MLPClassifier as SkC

    X, y = make_classification(150, 6, random_state=0)
    kw = dict(solver=solver, random_state=1, max_iter=12, hidden_layer_sizes=(5,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk, ml = SkC(**kw).fit(X, y), MLPClassifier(**kw).fit(X, y)
    np.testing.assert_allclose(ml.loss_curve_, sk.loss_curve_, rtol=1e-6)
    assert ml.loss_ == pytest.approx(sk.loss_, rel=1e-6)
    sk_p, ml_p = SkC(**kw), MLPClassifier(**kw)
    for _ in range(3):
        sk_p.partial_fit(X, y, classes=[0, 1])
        ml_p.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_allclose(ml_p.loss_curve_, sk_p.loss_curve_, rtol=1e-6)
