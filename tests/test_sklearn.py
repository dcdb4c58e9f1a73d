"""The scikit-learn estimators: conformance, ecosystem use, and the maths behind their options."""

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris, make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import mlplab  # noqa: E402
from mlplab.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# --- scikit-learn's own conformance checks, for scikit-learn's solvers and mlplab's own -----------

SOLVER_SETTINGS = {
    "gd": dict(solver="gd", max_iter=100),  # exact line search
    "lecture_sgd": dict(solver="lecture_sgd", max_iter=50, learning_rate_init=2e-4),  # per-sample SGD
    "sgd": dict(solver="sgd", max_iter=100),  # scikit-learn's mini-batch SGD with Nesterov momentum
    "adam": dict(solver="adam", max_iter=100),
    "lbfgs": dict(solver="lbfgs", max_iter=100),
    # the lecture's mini-batch SGD (no momentum, the block's summed sample gradients), at its defaults
    "minibatch": dict(solver="minibatch", max_iter=100),
    "momentum": dict(solver="momentum", max_iter=100),  # mlplab's heavy ball / Nesterov form
}
# every solver, both estimators, random_state set and unset (unset: each fit draws its own weights and blocks)
ESTIMATORS = [cls(random_state=random_state, **kw) for random_state in (0, None) for kw in SOLVER_SETTINGS.values()
              for cls in (MLPClassifier, MLPRegressor)]

WEIGHT_REASONS = {
    # gd, sgd (its block is the whole set at the checks' sizes: batch "auto" = min(200, n)) and lbfgs pass
    # check_sample_weight_equivalence_on_dense_data: their objectives are the weighted means, a weight of 2
    # is a repeated row (test_sample_weight_two_equals_a_repeated_row)
    "lecture_sgd": "per-sample SGD takes one step per row: an epoch is n steps on the weighted data (row j's scaled "
                   "by c_j/mean(c)) and sum(c) steps on the repeated data, so the weighted fit moves 1/mean(c) as "
                   "far, and a repeated row's two gradients are taken at two points "
                   "(test_lecture_sgd_weight_two_differs_from_a_repeated_row_as_stated)",
}


RAW_TARGET_REASON = (
    "the lecture's mini-batch step sums the block's sample gradients: at the default γ = 0.001 and the check's "
    "one block of 200 rows it is 0.2 × the mean gradient, and the check's targets are raw (|y| up to 138), so "
    "the fit diverges (ValueError) where scikit-learn's sgd (0.001 / (1 − 0.9) = 0.01 × the mean gradient) does "
    "not; with y standardised it fits (test_minibatch_diverges_on_the_checks_raw_targets_and_fits_them_scaled)")


def expected_failures(estimator):
    failures = {}
    reason = WEIGHT_REASONS.get(estimator.solver)
    if reason:
        failures.update({f"check_sample_weight_equivalence_on_{kind}_data": reason for kind in ("dense", "sparse")})
    if estimator.solver == "minibatch" and isinstance(estimator, MLPRegressor):
        failures["check_regressor_data_not_an_array"] = RAW_TARGET_REASON
    return failures


def test_minibatch_diverges_on_the_checks_raw_targets_and_fits_them_scaled():
    """RAW_TARGET_REASON, measured on the check's own data (scikit-learn's _regression_dataset)."""
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from sklearn.utils.estimator_checks import _regression_dataset

    X, y = _regression_dataset()
    assert X.shape == (200, 10) and np.abs(y).max() > 100
    with pytest.raises(ValueError, match="diverged"):
        _fit_quiet(MLPRegressor(solver="minibatch", max_iter=100, random_state=0), X, y)
    sk = _fit_quiet(SkRegressor(solver="sgd", max_iter=100, random_state=0), X, y)
    assert np.all(np.isfinite(sk.predict(X)))  # scikit-learn's sgd does not diverge there
    ys = (y - y.mean()) / y.std()
    reg = _fit_quiet(MLPRegressor(solver="minibatch", max_iter=100, random_state=0), X, ys)
    assert reg.score(X, ys) > 0.5


def test_minibatch_steps_along_the_blocks_summed_sample_gradients():
    """solver="minibatch" is the lecture's w ← w − γ Σ_{j∈B} ∇ℓ_j: one step on one block of n rows equals
    n × the step along the block mean (checked against the engine's gradient), and a sample weight of 2
    equals a repeated row."""
    X, y = make_regression(n_samples=30, n_features=3, noise=1.0, random_state=0)
    y = y / y.std()
    kw = dict(hidden_layer_sizes=(4,), solver="minibatch", max_iter=1, batch_size=30, shuffle=False, alpha=0.0,
              learning_rate_init=1e-3, random_state=0)
    reg = _fit_quiet(MLPRegressor(**kw), X, y)
    start = _fit_quiet(MLPRegressor(**{**kw, "max_iter": 1, "learning_rate_init": 1e-300}), X, y)  # w^0 (no move)
    w0 = start.net_.params.copy()
    net = start.net_
    _, g = net.loss_and_grad(X, y[:, None], "squared", reduction="mean")  # ∇ mean_j Σ_i (y − ŷ)²
    g_sk = g / 2.0  # scikit-learn's ½-mean squared error: ℓ_j = ½ (y_j − ŷ_j)²
    np.testing.assert_allclose(reg.net_.params, w0 - 1e-3 * 30 * g_sk, rtol=1e-10, atol=1e-13)
    sw = np.ones(30)
    sw[[3, 8]] = 2.0
    weighted = _fit_quiet(MLPRegressor(**{**kw, "batch_size": 32}), X, y, sample_weight=sw)
    repeated = _fit_quiet(MLPRegressor(**{**kw, "batch_size": 32}), np.vstack([X, X[[3, 8]]]),
                          np.concatenate([y, y[[3, 8]]]))
    np.testing.assert_allclose(weighted.net_.params, repeated.net_.params, rtol=1e-10, atol=1e-13)


CHECKS = parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)


GD_WEIGHT_REASON = (
    "gd's exact line search amplifies rounding: the weighted and the repeated data's sums round differently, "
    "so the two runs stop a few ulps of ‖∇E‖ apart and their predictions differ by up to ~1e-6 relative, above "
    "the check's rtol=1e-7 on some BLAS kernels (OpenBLAS SkylakeX) and not on others (Haswell); the "
    "equivalence at a tolerance every kernel meets is test_gd_sample_weight_equals_repeated_rows_to_rounding")


@pytest.mark.slow  # ~2 minutes of scikit-learn's checks: left out of the quick subset
@CHECKS
def test_sklearn_conformance(estimator, check):
    name = getattr(check, "func", check).__name__
    if estimator.solver == "gd" and name.startswith("check_sample_weight_equivalence"):
        pytest.skip(GD_WEIGHT_REASON)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_conformance_suite_did_not_shrink():
    n_checks = len(CHECKS.args[1])
    assert n_checks >= 1770, n_checks  # 28 estimators × 63-64 checks each in scikit-learn 1.9 (sparse ones included)
    estimators = {(p.values if hasattr(p, "values") else p)[0] for p in CHECKS.args[1]}
    assert {(type(e).__name__, e.solver, e.random_state) for e in estimators} == {
        (cls, solver, rs) for cls in ("MLPClassifier", "MLPRegressor") for solver in SOLVER_SETTINGS
        for rs in (0, None)}


# --- the ecosystem ------------------------------------------------------------------------


def test_pipeline_gridsearch_clone_cross_val():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__solver": ["adam", "gd"],
                               "mlpclassifier__hidden_layer_sizes": [(5,), (10, 10)]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
        assert grid.best_score_ > 0.85
        scores = cross_val_score(MLPClassifier(solver="gd", hidden_layer_sizes=(8,), max_iter=80, random_state=1),
                                 StandardScaler().fit_transform(X), y, cv=3)
    assert len(grid.cv_results_["params"]) == 4
    assert scores.mean() > 0.85
    est = MLPClassifier(solver="momentum", schedule="inverse", hidden_layer_sizes=[3, 4], activation=["tanh", "relu"])
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "net_")


# --- targets and outputs -------------------------------------------------------------------


def _fit_quiet(est, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kw)


def test_binary_string_labels_one_sigmoid_unit():
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    labels = np.where(y == 1, "spam", "ham")
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(6,), solver="gd", max_iter=50, random_state=0), X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic" and list(clf.classes_) == ["ham", "spam"]
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), np.where(P[:, 1] > 0.5, "spam", "ham"))
    z = clf.logits(X)  # (not decision_function: scikit-learn's MLPClassifier has none)
    assert z.shape == (120,)
    np.testing.assert_allclose(P[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)  # ŷ = σ(z^L)
    assert clf.score(X, labels) > 0.9


def test_multiclass_softmax_and_log_proba():
    X, y = load_iris(return_X_y=True)
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
                     StandardScaler().fit_transform(X), y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    P = clf.predict_proba(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_allclose(clf.predict_log_proba(StandardScaler().fit_transform(X)), np.log(P))


def test_multilabel_and_multioutput():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(10,), solver="gd", max_iter=100, random_state=0), X, Y)
    assert clf.predict(X).shape == (80, 2) and clf.predict_proba(X).shape == (80, 2)
    assert clf.score(X, Y) > 0.8
    Xr, Yr = make_regression(n_samples=60, n_features=3, n_targets=2, noise=0.1, random_state=0)
    reg = _fit_quiet(MLPRegressor(hidden_layer_sizes=(10,), solver="gd", max_iter=100, random_state=0),
                     Xr, Yr / 100)
    assert reg.predict(Xr).shape == (60, 2) and reg.score(Xr, Yr / 100) > 0.95


def test_fitted_attributes_are_the_lecture_network():
    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    reg = _fit_quiet(MLPRegressor(hidden_layer_sizes=(5, 3), activation=["tanh", "relu"], solver="gd",
                                  max_iter=20, random_state=0), X, y / 100)
    assert [c.shape for c in reg.coefs_] == [(4, 5), (5, 3), (3, 1)]
    for c, W in zip(reg.coefs_, reg.net_.weights):
        assert np.shares_memory(c, reg.net_.params)
        np.testing.assert_array_equal(c, W.T)  # coefs_ = (W^ℓ)ᵀ
    assert reg.n_layers_ == 4 and reg.n_iter_ == len(reg.loss_curve_) == 20
    assert [a.name for a in reg.net_.activations] == ["tanh", "relu", "identity"]
    h = reg.history_
    assert len(h.grad_norm) == 21 and np.array(h.layer_grad_norms).shape == (21, 3)
    assert reg.loss_ == pytest.approx(h.loss[-1])
    # loss_ is scikit-learn's objective: ½·mean squared error + alpha/(2n) ‖W‖²
    pen = reg.alpha / (2 * 50) * sum(np.sum(W ** 2) for W in reg.net_.weights)
    assert reg.loss_ == pytest.approx(0.5 * np.mean((y / 100 - reg.predict(X)) ** 2) + pen, rel=1e-10)
    # loss="squared" keeps the lecture's Σ_i (y_i − ŷ_i)² per sample (mean over samples): twice as large
    lecture = _fit_quiet(MLPRegressor(hidden_layer_sizes=(5, 3), activation=["tanh", "relu"], solver="gd",
                                      loss="squared", max_iter=20, random_state=0), X, y / 100)
    pen = lecture.alpha / (2 * 50) * sum(np.sum(W ** 2) for W in lecture.net_.weights)
    assert lecture.loss_ == pytest.approx(np.mean((y / 100 - lecture.predict(X)) ** 2) + pen, rel=1e-10)


# --- options scikit-learn's MLP does not have --------------------------------------------


def test_tol_grad_stops_without_warning_and_budget_warns():
    X, y = make_classification(n_samples=60, n_features=3, n_informative=2, n_redundant=0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), solver="gd", tol_grad=1e-1, tol=0, max_iter=500,
                            random_state=0).fit(X, y)
    assert clf.history_.grad_norm[-1] <= 1e-1 and clf.n_iter_ < 500
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        MLPClassifier(hidden_layer_sizes=(4,), solver="gd", max_iter=3, tol=0, random_state=0).fit(X, y)


def test_schedules_and_line_search_reach_the_engine():
    X, y = make_regression(n_samples=40, n_features=2, random_state=0)
    reg = _fit_quiet(MLPRegressor(hidden_layer_sizes=(3,), solver="lecture_sgd", schedule="inverse",
                                  learning_rate_init=0.01, max_iter=2, random_state=0), X, y / 100)
    steps = reg.history_.step_size
    assert steps[0] == pytest.approx(0.01) and steps[1] == pytest.approx(0.01 / 41)  # γ_k = c/(k+1), k=0, 40
    reg = _fit_quiet(MLPRegressor(hidden_layer_sizes=(3,), solver="gd", line_search="armijo", max_iter=5,
                                  random_state=0), X, y / 100)
    assert all(n > 0 for n in reg.history_.ls_evals[:-1])
    gamma = lambda k: 0.001 * 0.5 ** k  # noqa: E731  a callable k ↦ γ_k
    reg = _fit_quiet(MLPRegressor(hidden_layer_sizes=(3,), solver="minibatch", batch_size=40, schedule=gamma,
                                  max_iter=3, random_state=0), X, y / 100)
    np.testing.assert_allclose(reg.history_.step_size[:3], [0.001, 0.0005, 0.00025])


def test_class_weight_balanced_favours_the_minority_class():
    X, y = make_classification(n_samples=300, n_features=4, weights=[0.9, 0.1], class_sep=0.5, random_state=3)
    plain = _fit_quiet(MLPClassifier(hidden_layer_sizes=(6,), solver="gd", max_iter=60, random_state=0), X, y)
    balanced = _fit_quiet(MLPClassifier(hidden_layer_sizes=(6,), solver="gd", max_iter=60, random_state=0,
                                        class_weight="balanced"), X, y)
    recall = lambda clf: np.mean(clf.predict(X)[y == 1] == 1)  # noqa: E731
    assert np.mean(balanced.predict(X) == 1) > np.mean(plain.predict(X) == 1)
    assert recall(balanced) > recall(plain)


def test_sample_weight_two_equals_a_repeated_row():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    sw = np.ones(20)
    sw[[2, 7]] = 2
    Xr, yr = np.vstack([X, X[[2, 7]]]), np.concatenate([y, y[[2, 7]]])
    kw = dict(hidden_layer_sizes=(5,), solver="gd", line_search=None, learning_rate_init=0.01, max_iter=30,
              alpha=0.01, random_state=0)
    a = _fit_quiet(MLPRegressor(**kw), X, y / 100, sample_weight=sw)
    b = _fit_quiet(MLPRegressor(**kw), Xr, yr / 100)
    np.testing.assert_allclose(a.net_.params, b.net_.params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,kw", [
    (MLPClassifier, dict(max_iter=500, tol=0, tol_grad=1e-9)),  # run to its minimum
    (MLPRegressor, dict(max_iter=20, tol=0)),  # its minimiser is a flat valley: compare the first 20 steps
], ids=["classifier-converged", "regressor-20-steps"])
def test_gd_sample_weight_equals_repeated_rows_to_rounding(cls, kw):
    """check_sample_weight_equivalence's weights (0, 1, 2 per row) for gd with the exact line search, at a
    tolerance that holds on every BLAS kernel (GD_WEIGHT_REASON); measured 1e-11 on Haswell and SkylakeX."""
    rng = np.random.RandomState(42)
    X = rng.rand(30, 2)
    y = np.repeat(np.arange(3), 10) if cls is MLPClassifier else X @ [1.0, -2.0] + 0.1 * rng.rand(30)
    sw = rng.randint(0, 3, size=30).astype(float)
    X_rep, y_rep = np.repeat(X, sw.astype(int), axis=0), np.repeat(y, sw.astype(int), axis=0)
    kw = dict(solver="gd", hidden_layer_sizes=(3,), random_state=0, **kw)
    weighted = _fit_quiet(cls(**kw), X, y, sample_weight=sw)
    repeated = _fit_quiet(cls(**kw), X_rep, y_rep)
    out = "predict_proba" if cls is MLPClassifier else "predict"
    np.testing.assert_allclose(getattr(weighted, out)(X), getattr(repeated, out)(X), rtol=1e-8, atol=1e-10)
    unweighted = _fit_quiet(cls(**kw), X, y)  # the weights matter: without them the fit is elsewhere
    assert np.max(np.abs(getattr(unweighted, out)(X) - getattr(repeated, out)(X))) > 1e-4


@pytest.mark.parametrize("solver,batch", [("lecture_sgd", None), ("sgd", 5), ("adam", 5)])
def test_partial_fit_over_chunks_equals_one_epoch_of_fit(solver, batch):
    """Cyclic order, same γ_k: an epoch on (A; B) is an epoch on A followed by one on B."""
    X, y = make_classification(n_samples=40, n_features=3, n_informative=2, n_redundant=0, random_state=0)
    kw = dict(hidden_layer_sizes=(4,), solver=solver, shuffle=False, random_state=0, learning_rate_init=0.01)
    if batch:
        kw["batch_size"] = batch
    full = _fit_quiet(MLPClassifier(max_iter=1, **kw), X, y)
    part = MLPClassifier(**kw)
    part.partial_fit(X[:25], y[:25], classes=[0, 1])
    part.partial_fit(X[25:], y[25:])
    np.testing.assert_allclose(part.net_.params, full.net_.params, rtol=1e-12)
    assert part.t_ == full.t_ == 40
    with pytest.raises(ValueError, match=r"labels \[7\] not in classes_"):
        part.partial_fit(X[:3], np.array([0, 1, 7]))


def test_warm_start_continues_and_early_stopping_keeps_best():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, warm_start=True, random_state=0), X, y)
    first = clf.net_.params.copy()
    _fit_quiet(clf, X, y)
    assert len(clf.loss_curve_) == 10 and not np.array_equal(first, clf.net_.params)
    es = _fit_quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=200, early_stopping=True,
                                  n_iter_no_change=3, random_state=0), X, y)
    assert es.best_loss_ is None and len(es.validation_scores_) == es.n_iter_ < 200
    assert es.best_validation_score_ == max(es.validation_scores_)


def test_errors_read_like_sklearn_and_name_the_value():
    X, y = make_classification(n_samples=20, n_features=3, n_informative=2, n_redundant=0, random_state=0)
    with pytest.raises(ValueError, match="solver"):
        MLPClassifier(solver="newton").fit(X, y)
    with pytest.raises(ValueError, match="'gelu'"):
        MLPClassifier(activation=["gelu"], hidden_layer_sizes=(3,)).fit(X, y)
    one = _fit_quiet(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2), X, np.zeros(20))  # fits, as scikit-learn's
    assert list(one.predict(X[:3])) == [0.0, 0.0, 0.0] and one.predict_proba(X[:3]).shape == (3, 2)
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(3,), max_iter=2), X, y)
    with pytest.raises(ValueError, match="3 features"):
        clf.predict(X[:, :2])


def test_pickle_round_trip_predicts_the_same():
    X, y = load_iris(return_X_y=True)
    clf = _fit_quiet(MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0), X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert np.shares_memory(back.coefs_[0], back.net_.params)


def test_importing_mlplab_does_not_import_sklearn_module():
    import sys

    assert "mlplab.sklearn" in sys.modules  # imported by this test file …
    assert not hasattr(mlplab, "MLPClassifier")  # … but only on request


def test_lecture_sgd_weight_two_is_not_a_repeated_row():
    """The measured reason for lecture_sgd's expected failure of the sample-weight check."""
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    sw = np.ones(20)
    sw[[2, 7]] = 2
    Xr, yr = np.vstack([X, X[[2, 7]]]), np.concatenate([y, y[[2, 7]]])
    kw = dict(hidden_layer_sizes=(5,), solver="lecture_sgd", learning_rate_init=0.01, max_iter=5, shuffle=False,
              random_state=0)
    a = _fit_quiet(MLPRegressor(**kw), X, y / 100, sample_weight=sw)
    b = _fit_quiet(MLPRegressor(**kw), Xr, yr / 100)
    assert np.max(np.abs(a.net_.params - b.net_.params)) > 1e-6


def test_lecture_sgd_weight_two_differs_from_a_repeated_row_as_stated():
    """The stated reason, measured: after one epoch the weighted run has moved 1/mean(c) as far as the
    repeated one (n steps scaled by c_j/mean(c) against Σc steps), up to a second-order rest that shrinks
    with γ (gradients taken at different points)."""
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    sw = np.ones(20)
    sw[[2, 7]] = 2
    Xr, yr = np.vstack([X, X[[2, 7]]]), np.concatenate([y, y[[2, 7]]])
    rests = []
    for lr in (1e-3, 1e-4):
        kw = dict(hidden_layer_sizes=(5,), solver="lecture_sgd", learning_rate_init=lr, max_iter=1, shuffle=False,
                  random_state=0)
        start = _fit_quiet(MLPRegressor(**{**kw, "learning_rate_init": 1e-300}), X, y / 100).net_.params
        moved_w = _fit_quiet(MLPRegressor(**kw), X, y / 100, sample_weight=sw).net_.params - start
        moved_r = _fit_quiet(MLPRegressor(**kw), Xr, yr / 100).net_.params - start
        assert np.linalg.norm(moved_w - moved_r) > 0.05 * np.linalg.norm(moved_w)  # the runs differ …
        rests.append(np.linalg.norm(moved_w - moved_r / sw.mean()) / np.linalg.norm(moved_w))
    assert rests[0] < 0.02 and rests[1] < rests[0] / 5  # … by 1/mean(c), up to a rest of order γ
