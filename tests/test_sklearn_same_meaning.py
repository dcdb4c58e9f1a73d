"""Nothing a user writes for scikit-learn's MLP means something else on mlplab's (issue #25).

Each test runs the same code on scikit-learn's MLPClassifier / MLPRegressor and on mlplab's, with the
same data and random_state, and compares what the code sees: weights, predictions, counters,
attributes, warnings, signatures. The numbers in the test names follow the issue's list.
"""

import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import sklearn.neural_network as sk  # noqa: E402
from sklearn.datasets import make_classification, make_moons, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from mlplab.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


def _quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


def _layers(est):
    return list(est.coefs_) + list(est.intercepts_)


def _assert_same_weights(ours, theirs, atol=1e-10):
    for a, b in zip(_layers(ours), _layers(theirs), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def _multiclass(n=350):
    return make_classification(n, 8, n_informative=5, n_classes=3, random_state=0)


# --- 1. adam's last, shorter block carries alpha/|B| of the penalty --------------------------------


@pytest.mark.parametrize("alpha", [1e-4, 1.0])
def test_1_adam_with_a_partial_last_block_is_sklearns(alpha):
    X, y = _multiclass(350)  # blocks of 200 and 150
    kw = dict(hidden_layer_sizes=(20,), max_iter=60, alpha=alpha, random_state=0)
    ours, theirs = _quiet(MLPClassifier(**kw), X, y), _quiet(sk.MLPClassifier(**kw), X, y)
    _assert_same_weights(ours, theirs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_


# --- 2. no decision_function: tools that prefer it see what they see with scikit-learn -----------


def test_2_no_decision_function_and_logits_instead():
    X, y = make_moons(200, noise=0.2, random_state=0)
    assert not hasattr(sk.MLPClassifier(), "decision_function")
    assert not hasattr(MLPClassifier(), "decision_function")
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0), X, y)
    z = clf.logits(X)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)


def test_2_calibrated_classifier_cv_is_sklearns():
    from sklearn.calibration import CalibratedClassifierCV

    X, y = make_moons(300, noise=0.3, random_state=0)
    kw = dict(hidden_layer_sizes=(10,), max_iter=80, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = CalibratedClassifierCV(MLPClassifier(**kw), cv=3).fit(X, y)
        theirs = CalibratedClassifierCV(sk.MLPClassifier(**kw), cv=3).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-9)


def test_2_decision_boundary_display_draws_probabilities_as_sklearns():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.inspection import DecisionBoundaryDisplay

    X, y = make_moons(200, noise=0.2, random_state=0)
    kw = dict(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    ours, theirs = _quiet(MLPClassifier(**kw), X, y), _quiet(sk.MLPClassifier(**kw), X, y)
    try:
        a = DecisionBoundaryDisplay.from_estimator(ours, X, grid_resolution=20)
        b = DecisionBoundaryDisplay.from_estimator(theirs, X, grid_resolution=20)
    finally:
        plt.close("all")
    assert a.response.min() >= 0 and a.response.max() <= 1  # probabilities, not logits
    np.testing.assert_allclose(a.response, b.response, rtol=0, atol=1e-9)


# --- 3. warm_start with adam restarts Adam's moments each fit() -------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_3_warm_start_max_iter_1_loop_is_sklearns(solver):
    X, y = _multiclass(300)
    kw = dict(hidden_layer_sizes=(10,), max_iter=1, warm_start=True, solver=solver, random_state=0)
    ours, theirs = MLPClassifier(**kw), sk.MLPClassifier(**kw)
    for _ in range(6):
        _quiet(ours, X, y)
        _quiet(theirs, X, y)
    _assert_same_weights(ours, theirs)
    assert ours.loss_curve_ == pytest.approx(theirs.loss_curve_, rel=1e-12)
    assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_) == (1, 6 * 300)


# --- 4. multi-output regression steps along scikit-learn's gradient --------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_4_multi_output_regression_is_sklearns(solver):
    X, Y = make_regression(300, 6, n_targets=3, noise=3.0, random_state=0)
    Y = Y / Y.std()
    kw = dict(hidden_layer_sizes=(15,), max_iter=40, solver=solver, random_state=0)
    ours, theirs = _quiet(MLPRegressor(**kw), X, Y), _quiet(sk.MLPRegressor(**kw), X, Y)
    _assert_same_weights(ours, theirs, atol=1e-9)
    assert ours.score(X, Y) == pytest.approx(theirs.score(X, Y), abs=1e-9)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9) and ours.n_iter_ == theirs.n_iter_


# --- 5. assigning one layer: est.coefs_[i] = W, est.intercepts_[i] = b -----------------------------


@pytest.mark.parametrize("ours_cls,theirs_cls", [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)])
def test_5_assigning_one_layer_changes_the_model_as_sklearns(ours_cls, theirs_cls):
    X, y = _multiclass(120)
    kw = dict(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    ours, theirs = _quiet(ours_cls(**kw), X, y), _quiet(theirs_cls(**kw), X, y)
    rng = np.random.RandomState(1)
    W, b = rng.normal(size=ours.coefs_[1].shape), rng.normal(size=ours.intercepts_[1].shape)
    for est in (ours, theirs):
        est.coefs_[1] = W.copy()
        est.intercepts_[1] = b.copy()
    np.testing.assert_array_equal(ours.coefs_[1], W)
    np.testing.assert_array_equal(ours.intercepts_[1], b)
    out = "predict_proba" if ours_cls is MLPClassifier else "predict"
    np.testing.assert_allclose(getattr(ours, out)(X), getattr(theirs, out)(X), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"coefs_\[0\] has shape \(3, 3\); this network needs \(8, 6\)"):
        ours.coefs_[0] = np.zeros((3, 3))


# --- 6. n_iter_ counts the epochs of one call: 1 per partial_fit ------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_6_partial_fit_n_iter_is_one_per_call(solver):
    X, y = _multiclass(200)
    kw = dict(hidden_layer_sizes=(5,), solver=solver, random_state=0)
    ours, theirs = MLPClassifier(**kw), sk.MLPClassifier(**kw)
    for _ in range(3):
        ours.partial_fit(X, y, classes=[0, 1, 2])
        theirs.partial_fit(X, y, classes=[0, 1, 2])
    assert (ours.n_iter_, ours.t_) == (theirs.n_iter_, theirs.t_) == (1, 600)
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 3
    _assert_same_weights(ours, theirs)


def test_6_mlplab_solvers_count_one_epoch_per_partial_fit_too():
    X, y = _multiclass(100)
    est = MLPClassifier(hidden_layer_sizes=(5,), solver="momentum", random_state=0)
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert est.n_iter_ == 1 and est.t_ == 300


# --- 7. float32 with lbfgs ends in float64; float64 input to a float32 network promotes -------------


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_7_float32_lbfgs_ends_with_float64_weights_as_sklearns(kind):
    if kind == "classifier":
        X, y = _multiclass(300)
        ours_cls, theirs_cls = MLPClassifier, sk.MLPClassifier
    else:
        X, y = make_regression(300, 6, noise=3.0, random_state=0)
        y = y / y.std()
        ours_cls, theirs_cls = MLPRegressor, sk.MLPRegressor
    X32 = X.astype(np.float32)
    kw = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=10, random_state=0)
    ours, theirs = _quiet(ours_cls(**kw), X32, y), _quiet(theirs_cls(**kw), X32, y)
    # scipy evaluates E at float32 points in both: the trajectories agree to float32 rounding (scikit-learn's
    # own float32 and float64 fits are ~2e-6 apart here); before, mlplab's stayed float32 and ~1e-1 away
    _assert_same_weights(ours, theirs, atol=1e-4)
    # (scikit-learn's regressor keeps y in float64 against float32 outputs; mlplab's y is float32)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-4)
    out = "predict_proba" if kind == "classifier" else "predict"
    assert getattr(ours, out)(X32).dtype == getattr(theirs, out)(X32).dtype == np.float64


def test_7_float32_regressor_predicting_float64_returns_float64():
    X, y = make_regression(200, 5, noise=3.0, random_state=0)
    y = y / y.std()
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    ours, theirs = _quiet(MLPRegressor(**kw), X.astype(np.float32), y), _quiet(sk.MLPRegressor(**kw), X.astype(
        np.float32), y)
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == np.float32
    for Xin in (X, X.astype(np.float32)):
        assert ours.predict(Xin).dtype == theirs.predict(Xin).dtype
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-5, atol=1e-5)


# --- 8. scikit-learn's warning filters catch mlplab's warnings ---------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd", "momentum", "gd"])
def test_8_module_filter_of_sklearns_examples_silences_convergence_warnings(solver):
    X, y = _multiclass(100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        sk.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, solver=solver, tol=0, random_state=0).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, solver="lbfgs", random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="Stochastic Optimizer|Gradient Descent"):  # still warned without it
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, solver=solver, tol=0, random_state=0).fit(X, y)


def test_8_module_filter_silences_the_batch_size_warning():
    X, y = _multiclass(50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Got `batch_size`", module="sklearn")
        for cls in (sk.MLPClassifier, MLPClassifier):
            cls(hidden_layer_sizes=(3,), max_iter=2, batch_size=500, random_state=0).fit(X, y)


# --- 9. signatures, attributes set after lbfgs, writable attributes, the batch_size warning ---------


@pytest.mark.parametrize("ours,theirs", [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)])
def test_9_positional_parameters_are_sklearns(ours, theirs):
    def positional(cls):
        return [p.name for p in inspect.signature(cls).parameters.values()
                if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]

    assert positional(ours) == positional(theirs)
    X, y = make_regression(60, 3, random_state=0)
    if ours is MLPRegressor:
        a, b = ours("squared_error", (4,), "tanh"), theirs("squared_error", (4,), "tanh")
        assert (a.loss, a.hidden_layer_sizes, a.activation) == (b.loss, b.hidden_layer_sizes, b.activation)


@pytest.mark.parametrize("ours,theirs", [(MLPClassifier, sk.MLPClassifier), (MLPRegressor, sk.MLPRegressor)])
def test_9_lbfgs_leaves_the_stochastic_attributes_unset_as_sklearn(ours, theirs):
    X, y = _multiclass(100)
    kw = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0)
    a, b = _quiet(ours(**kw), X, y), _quiet(theirs(**kw), X, y)
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert not hasattr(a, name) and not hasattr(b, name), name
    assert a.t_ == b.t_ == 0 and a.n_iter_ == b.n_iter_
    assert len(a.history_.loss) == a.n_iter_  # mlplab's per-iteration record stays in history_


def test_9_n_layers_and_n_outputs_are_plain_attributes():
    X, y = _multiclass(60)
    for cls in (MLPClassifier, sk.MLPClassifier):
        est = _quiet(cls(hidden_layer_sizes=(4, 3), max_iter=2, random_state=0), X, y)
        assert (est.n_layers_, est.n_outputs_) == (4, 3)
        est.n_layers_, est.n_outputs_ = 7, 9  # scikit-learn's are attributes: assignable, as here
        assert (est.n_layers_, est.n_outputs_) == (7, 9)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_9_batch_size_above_the_sample_count_warns_as_sklearn(solver):
    X, y = _multiclass(50)
    messages = []
    for cls in (sk.MLPClassifier, MLPClassifier):
        with pytest.warns(UserWarning, match="Got `batch_size` less than 1 or larger than sample size") as rec:
            _quiet(cls(hidden_layer_sizes=(3,), max_iter=2, batch_size=80, solver=solver, random_state=0), X, y)
        messages.append([str(w.message) for w in rec if not issubclass(w.category, ConvergenceWarning)])
    assert messages[0] == messages[1]


# --- 10. check_estimator with lbfgs ----------------------------------------------------------------


def test_10_lbfgs_multilabel_predict_proba_format():
    """scikit-learn 1.9's own MLPClassifier(solver="lbfgs") fails this check: 200 iterations saturate σ(z)
    to exactly 1.0 on the check's data. mlplab's fits the same weights and keeps the probabilities in (0, 1)."""
    from sklearn.utils.estimator_checks import check_classifiers_multilabel_output_format_predict_proba as check

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check("MLPClassifier", MLPClassifier(solver="lbfgs"))
        check("MLPClassifier", MLPClassifier(solver="lbfgs", dtype="float32"))


def test_10_saturated_probabilities_are_sklearns_within_one_ulp():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.preprocessing import scale

    X, Y = make_multilabel_classification(100, n_features=2, n_classes=5, n_labels=3, length=50,
                                          allow_unlabeled=True, random_state=0)
    X = scale(X)
    kw = dict(solver="lbfgs", random_state=0, max_iter=40)
    ours, theirs = _quiet(MLPClassifier(**kw), X, Y), _quiet(sk.MLPClassifier(**kw), X, Y)
    _assert_same_weights(ours, theirs, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=0, atol=1e-8)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    P = ours.predict_proba(X)
    assert np.all((P > 0) & (P < 1))


# --- 11. lbfgs decides as scikit-learn's where the outputs saturate (timings: bench/sklearn_lbfgs.py) ----


def test_11_lbfgs_on_saturating_data_takes_sklearns_decisions():
    """Raw wine (features up to ~1700): the softmax saturates, and scikit-learn's log-loss value (probabilities
    clipped to [eps, 1 − eps]) is what L-BFGS-B's line search compares; the exact cross-entropy would run on
    to max_iter where scikit-learn stops after 2 iterations."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    kw = dict(solver="lbfgs", random_state=0)
    ours, theirs = _quiet(MLPClassifier(**kw), X, y), _quiet(sk.MLPClassifier(**kw), X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 2
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-12)
    _assert_same_weights(ours, theirs, atol=1e-12)


def test_verbose_output_is_sklearns(capsys):
    X, y = make_moons(200, noise=0.3, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive", n_iter_no_change=2, tol=1e-2,
              max_iter=30, early_stopping=True, verbose=True, random_state=0)
    outputs = []
    for cls in (sk.MLPClassifier, MLPClassifier):
        _quiet(cls(**kw), X, y)
        outputs.append(capsys.readouterr().out)
    assert "Setting learning rate to" in outputs[0]
    assert outputs[1] == outputs[0]
