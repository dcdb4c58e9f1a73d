"""scikit-learn's solver names run scikit-learn's algorithms, on scikit-learn's objective.

Oracle: scikit-learn's own MLPClassifier / MLPRegressor started from the same weights
(copied through the assignable ``coefs_`` / ``intercepts_``) with ``shuffle=False`` so that
both see the same blocks: "sgd" must then give the same loss curve and weights to rounding
(it is scikit-learn's SGDOptimizer: v ← μv − γ∇E_B, Nesterov's second update, learning_rate
constant / invscaling / adaptive), "lbfgs" the same final loss (both call scipy's L-BFGS-B
on the same E and ∇E), and the regressor's loss is scikit-learn's ½-mean squared error.
"""

import time
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import sklearn.neural_network as sk  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mlplab.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

PAIRS = {"regression": (MLPRegressor, sk.MLPRegressor), "multiclass": (MLPClassifier, sk.MLPClassifier),
         "binary": (MLPClassifier, sk.MLPClassifier)}


def _data(kind, n=200):
    if kind == "regression":
        X, y = make_regression(n_samples=n, n_features=5, noise=5, random_state=0)
        return X, (y - y.mean()) / y.std()
    X, y = make_classification(n_samples=n, n_features=5, n_informative=3, n_classes=3, random_state=0)
    return X, (y if kind == "multiclass" else y > 0)


def _quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def _start_from(est, X, y, coefs, intercepts):
    """Make est's next fit start from (coefs, intercepts) with fresh counters (t_, loss curve, patience)."""
    max_iter = est.max_iter
    _quiet(est.set_params(warm_start=True, max_iter=1), X, y)  # builds the network (and the label encoding)
    est.set_params(max_iter=max_iter)
    est.coefs_ = [c.copy() for c in coefs]
    est.intercepts_ = [b.copy() for b in intercepts]
    est.t_, est.loss_curve_, est.best_loss_, est._no_improvement_count = 0, [], np.inf, 0
    return est


def _twins(kind, **kw):
    """(mlplab's, scikit-learn's) estimators, fitted on kind's data from the same initial weights."""
    ours, theirs = PAIRS[kind]
    X, y = _data(kind)
    w0 = _quiet(theirs(random_state=1, max_iter=1, hidden_layer_sizes=kw.get("hidden_layer_sizes", (100,))), X, y)
    ref = _start_from(theirs(random_state=0, shuffle=False, **kw), X, y, w0.coefs_, w0.intercepts_)
    est = _start_from(ours(random_state=0, shuffle=False, **kw), X, y, w0.coefs_, w0.intercepts_)
    return _quiet(est, X, y), _quiet(ref, X, y), X, y


SGD_SETTINGS = {
    "nesterov, batch 50": dict(batch_size=50, max_iter=30, hidden_layer_sizes=(7,)),
    "heavy ball, invscaling, batch 33": dict(batch_size=33, max_iter=30, nesterovs_momentum=False,
                                            learning_rate="invscaling", learning_rate_init=0.05),
    "adaptive, batch 64": dict(batch_size=64, max_iter=100, learning_rate="adaptive", n_iter_no_change=2, tol=1e-2,
                               learning_rate_init=0.01),
    "no momentum, batch 1": dict(batch_size=1, momentum=0.0, max_iter=3, hidden_layer_sizes=(4,),
                                 learning_rate_init=0.01),
}


@pytest.mark.parametrize("kind", sorted(PAIRS))
@pytest.mark.parametrize("setting", sorted(SGD_SETTINGS))
def test_sgd_is_sklearns_sgd(kind, setting):
    """Same start, same blocks: the same loss curve and the same weights, to rounding."""
    est, ref, X, y = _twins(kind, solver="sgd", **SGD_SETTINGS[setting])
    assert len(est.loss_curve_) == len(ref.loss_curve_) == est.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert est.t_ == ref.t_ == est.n_iter_ * len(X)
    steps = -(-len(X) // SGD_SETTINGS[setting]["batch_size"])
    assert est.history_.k[-1] == est.n_iter_ * steps  # batch_size is honoured: ⌈n/b⌉ steps per epoch


def test_sgd_update_rule_by_hand():
    """Two blocks of one epoch on a linear model, momentum μ and Nesterov, written out."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [-1.0, 1.0]])
    y = np.array([1.0, -1.0, 2.0, 0.5])
    mu, lr, alpha = 0.9, 0.1, 0.01
    est = MLPRegressor(hidden_layer_sizes=(3,), activation="identity", solver="sgd", batch_size=2,
                       momentum=mu, learning_rate_init=lr, alpha=alpha, shuffle=False, max_iter=1, random_state=0)
    _start_from(est, X, y, [np.full((2, 3), 0.1), np.full((3, 1), 0.2)], [np.zeros(3), np.zeros(1)])
    W1, W2 = np.full((2, 3), 0.1), np.full((3, 1), 0.2)
    b1, b2 = np.zeros(3), np.zeros(1)
    v = [np.zeros_like(p) for p in (W1, W2, b1, b2)]
    for rows in (slice(0, 2), slice(2, 4)):
        Xb, yb = X[rows], y[rows, None]
        H = Xb @ W1 + b1
        r = H @ W2 + b2 - yb  # E_B = ½ mean r² + alpha/(2|B|) (‖W1‖² + ‖W2‖²)
        g = [(Xb.T @ (r @ W2.T) + alpha * W1) / 2, (H.T @ r + alpha * W2) / 2, (r @ W2.T).sum(0) / 2, r.sum(0) / 2]
        v = [mu * vi - lr * gi for vi, gi in zip(v, g)]  # v ← μ v − γ g
        W1, W2, b1, b2 = [p + mu * vi - lr * gi for p, vi, gi in zip((W1, W2, b1, b2), v, g)]  # Nesterov
    _quiet(est, X, y)
    for a, b in zip(est.coefs_ + est.intercepts_, [W1, W2, b1, b2]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regression_loss_is_on_sklearns_scale(n_targets):
    """One full-batch epoch: loss_curve_[0] is E(w^0); scikit-learn's ½-mean, not the lecture's Σ."""
    X, y = make_regression(n_samples=80, n_features=4, n_targets=n_targets, noise=1, random_state=0)
    y = y / y.std()
    w0 = _quiet(sk.MLPRegressor(hidden_layer_sizes=(6,), max_iter=1, random_state=3), X, y)
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", batch_size=80, max_iter=1, shuffle=False, random_state=0)
    ref = _quiet(_start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    est = _quiet(_start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    lecture = _quiet(_start_from(MLPRegressor(loss="squared", **kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    pred = w0.predict(X).reshape(len(X), -1)
    pen = 1e-4 / (2 * 80) * sum(np.sum(c ** 2) for c in w0.coefs_)
    E0 = 0.5 * np.mean((y.reshape(len(X), -1) - pred) ** 2) + pen
    assert est.loss_curve_[0] == pytest.approx(ref.loss_curve_[0], rel=1e-12, abs=1e-14)
    assert est.loss_curve_[0] == pytest.approx(E0, rel=1e-12)
    assert lecture.loss_curve_[0] == pytest.approx(2 * n_targets * (E0 - pen) + pen, rel=1e-12)
    if n_targets == 1:  # with k > 1 scikit-learn's gradient is that of ½Σ_i, k times its loss's (see the module)
        np.testing.assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_lbfgs_reaches_sklearns_loss_from_the_same_start(kind):
    est, ref, X, y = _twins(kind, solver="lbfgs", max_iter=50, hidden_layer_sizes=(10,))
    assert est.n_iter_ == ref.n_iter_
    assert est.loss_ == pytest.approx(ref.loss_, rel=1e-7)
    # lbfgs leaves loss_curve_ to the stochastic solvers, as scikit-learn's; the per-iteration E is in history_
    assert len(est.history_.loss) == est.n_iter_ and est.history_.loss[-1] == pytest.approx(est.loss_, rel=1e-12)


def test_lbfgs_options_are_sklearns():
    X, y = _data("regression")
    w0 = _quiet(sk.MLPRegressor(max_iter=1, random_state=1), X, y)  # the same start for both
    kw = dict(solver="lbfgs", max_iter=200, max_fun=10, random_state=0)
    est = _start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    ref = _start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        est.fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        ref.fit(X, y)
    assert est.n_iter_ == ref.n_iter_ <= 10  # max_fun caps the E evaluations first
    assert est.loss_ == pytest.approx(ref.loss_, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        loose = MLPRegressor(solver="lbfgs", max_iter=500, tol=1e-1, random_state=0).fit(X, y)
    assert loose.n_iter_ < 500  # tol is L-BFGS-B's gtol: a loose one stops early without a warning


def test_sgd_fits_unscaled_regression_where_the_lecture_sgd_did_not():
    """The drop-in issue's case: raw targets (|y| up to ~400), 50 epochs."""
    X, y = make_regression(500, 10, noise=5, random_state=0)
    ref = _quiet(sk.MLPRegressor(solver="sgd", max_iter=50, random_state=0), X, y)
    est = _quiet(MLPRegressor(solver="sgd", max_iter=50, random_state=0), X, y)
    assert ref.score(X, y) > 0.99 and est.score(X, y) > 0.99


def test_sgd_partial_fit_keeps_the_velocity_and_the_rate():
    X, y = _data("regression")
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=20, shuffle=False, learning_rate="invscaling",
              learning_rate_init=0.05, random_state=0)
    w0 = _quiet(sk.MLPRegressor(hidden_layer_sizes=(5,), max_iter=1, random_state=2), X, y)
    ref = _start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    est = _start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    del ref._optimizer  # both start a fresh optimizer on the first partial_fit
    est._sgd_state = None
    for _ in range(3):
        ref.partial_fit(X, y)
        est.partial_fit(X, y)
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)
    np.testing.assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-10, atol=1e-13)


def test_sgd_without_momentum_leaves_sklearns_velocity():
    """momentum=0 steps w ← w − γ∇E_B without touching v; v = μv − γ∇E_B = −γ∇E_B of the epoch's last
    block is written once at the end: the same velocity as scikit-learn's optimizer holds."""
    X, y = _data("regression")
    kw = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=30, shuffle=False, momentum=0.0,
              learning_rate_init=0.05, random_state=0)
    w0 = _quiet(sk.MLPRegressor(hidden_layer_sizes=(5,), max_iter=1, random_state=2), X, y)
    ref = _start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    est = _start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_)
    del ref._optimizer
    est._sgd_state = None
    for _ in range(2):
        ref.partial_fit(X, y)
        est.partial_fit(X, y)
    weights, biases = est.net_.unpack(est._sgd_state.slots["v"])
    ours = [W.T for W in weights] + list(biases)
    assert len(ours) == len(ref._optimizer.velocities)
    for a, b in zip(ours, ref._optimizer.velocities):
        assert np.abs(b).max() > 0
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(est.coefs_[0], ref.coefs_[0], rtol=1e-10, atol=1e-13)


# --- two data sets the project does not use: scores against scikit-learn's -----------------


def _split(kind):
    if kind == "classification":
        X, y = make_classification(5000, 20, random_state=1)
    else:
        X, y = make_regression(5000, 20, noise=10, random_state=1)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    sx = StandardScaler().fit(X_tr)
    X_tr, X_te = sx.transform(X_tr), sx.transform(X_te)
    if kind == "regression":
        mu, sd = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mu) / sd, (y_te - mu) / sd
    return X_tr, X_te, y_tr, y_te


@pytest.mark.parametrize("kind", ["classification", "regression"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_scores_within_1_5_pp_of_sklearn(kind, solver):
    from threadpoolctl import threadpool_limits

    X_tr, X_te, y_tr, y_te = _split(kind)
    ours, theirs = (MLPClassifier, sk.MLPClassifier) if kind == "classification" else (MLPRegressor, sk.MLPRegressor)
    kw = dict(solver=solver, random_state=0, max_iter=100)
    times = {}
    with threadpool_limits(1):
        for name, cls in (("sklearn", theirs), ("mlplab", ours)):
            t0 = time.perf_counter()
            est = _quiet(cls(**kw), X_tr, y_tr)
            times[name] = (time.perf_counter() - t0, est.score(X_te, y_te))
    (t_sk, s_sk), (t_ml, s_ml) = times["sklearn"], times["mlplab"]
    print(f"{kind} {solver}: sklearn {s_sk:.4f} in {t_sk:.2f}s, mlplab {s_ml:.4f} in {t_ml:.2f}s "
          f"(time ratio {t_ml / t_sk:.2f})")
    assert s_ml >= s_sk - 0.015
