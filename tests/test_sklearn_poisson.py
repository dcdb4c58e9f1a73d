"""MLPRegressor(loss="poisson") as scikit-learn (≥ 1.7) defines it, and the engine's "poisson" loss.

scikit-learn's definition (sklearn.neural_network._base.poisson_loss and _initialize): half the
Poisson deviance, e = Σ_i y_i log(y_i/ŷ_i) − y_i + ŷ_i, averaged over samples and summed over
outputs, on an exp output ŷ = e^z ("exp" in out_activation_), for MLPRegressor only. Oracles:
sklearn.metrics.mean_poisson_deviance (the deviance is twice e), central finite differences of
E(w), and scikit-learn's own MLPRegressor started from the same weights.
"""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import sklearn.neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import mean_poisson_deviance  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

import mlplab  # noqa: E402
from mlplab.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


needs_sklearn_poisson = pytest.mark.skipif(
    tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 7),
    reason="scikit-learn's MLPRegressor has loss='poisson' from 1.7 on")


def _quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


def _counts(n=150, n_targets=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    rates = np.exp(0.6 * X[:, :n_targets] - 0.3 * X[:, 1:n_targets + 1])
    y = rng.poisson(rates).astype(float)
    return X, (y[:, 0] if n_targets == 1 else y)


def _start_from(est, X, y, coefs, intercepts):
    max_iter = est.max_iter
    _quiet(est.set_params(warm_start=True, max_iter=1), X, y)
    est.set_params(max_iter=max_iter)
    est.coefs_ = [c.copy() for c in coefs]
    est.intercepts_ = [b.copy() for b in intercepts]
    est.t_, est.loss_curve_, est.best_loss_, est._no_improvement_count = 0, [], np.inf, 0
    return est


def test_engine_loss_is_half_the_poisson_deviance():
    net = mlplab.MLP([4, 6, 1], activation=["tanh", "exp"], seed=1)
    X, y = _counts(40)
    E, _ = net.loss_and_grad(X, y, loss="poisson", reduction="mean")
    yhat = net.forward(X)[:, 0]
    assert E == pytest.approx(0.5 * mean_poisson_deviance(y, yhat), rel=1e-12)
    assert np.all(yhat > 0)


@pytest.mark.parametrize("n_targets", [1, 3])
def test_gradient_matches_finite_differences(n_targets):
    net = mlplab.MLP([4, 5, 3, n_targets], activation=["tanh", "softplus", "exp"], seed=2)
    X, y = _counts(30, n_targets=n_targets, seed=1)
    sw = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    kw = dict(loss="poisson", l2=0.3, reduction="mean", sample_weight=sw)
    _, g = net.loss_and_grad(X, y, **kw)
    w0, h = net.params.copy(), 1e-6

    def E(i, step):
        net.params[...] = w0
        net.params[i] += step
        return net.loss_and_grad(X, y, **kw)[0]

    fd = np.array([(E(i, h) - E(i, -h)) / (2 * h) for i in range(w0.size)])  # central differences
    net.params[...] = w0
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n_targets", [1, 2])
@needs_sklearn_poisson
def test_sgd_is_sklearns_from_the_same_start(n_targets):
    X, y = _counts(200, n_targets)
    w0 = _quiet(sk.MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), max_iter=1, random_state=1), X, y)
    kw = dict(loss="poisson", solver="sgd", hidden_layer_sizes=(6,), batch_size=40, max_iter=15, shuffle=False,
              learning_rate_init=0.01, random_state=0)
    ref = _quiet(_start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    est = _quiet(_start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    assert est.out_activation_ == ref.out_activation_ == "exp"
    np.testing.assert_allclose(est.loss_curve_, ref.loss_curve_, rtol=1e-12)
    for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est.predict(X), ref.predict(X), rtol=1e-10)


@needs_sklearn_poisson
def test_lbfgs_reaches_sklearns_loss_from_the_same_start():
    X, y = _counts(200)
    w0 = _quiet(sk.MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=1, random_state=1), X, y)
    kw = dict(loss="poisson", solver="lbfgs", hidden_layer_sizes=(8,), max_iter=40, random_state=0)
    ref = _quiet(_start_from(sk.MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    est = _quiet(_start_from(MLPRegressor(**kw), X, y, w0.coefs_, w0.intercepts_), X, y)
    assert est.n_iter_ == ref.n_iter_
    assert est.loss_ == pytest.approx(ref.loss_, rel=1e-7)
    # the reported loss is the mean half deviance plus scikit-learn's penalty alpha/(2n) ‖W‖²
    penalty = est.alpha / (2 * len(X)) * sum(np.sum(c ** 2) for c in est.coefs_)
    assert est.loss_ == pytest.approx(0.5 * mean_poisson_deviance(y, est.predict(X)) + penalty, rel=1e-9)


def test_poisson_is_accepted_only_where_sklearn_accepts_it():
    X, y = _counts(40)
    with pytest.raises(InvalidParameterError, match="'loss' parameter of MLPClassifier"):
        MLPClassifier(loss="poisson").fit(X, y > 0)
    with pytest.raises(ValueError, match=r"loss 'poisson' needs targets y >= 0 .* sample 3"):
        y_neg = y.copy()
        y_neg[3] = -1.0
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y_neg)
    with pytest.raises(ValueError, match="output_activation='exp'"):
        MLPRegressor(loss="poisson", output_activation="identity", max_iter=2).fit(X, y)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs", "gd"])
def test_every_solver_fits_counts_and_saves(solver, tmp_path):
    X, y = _counts(300)
    kw = dict(loss="poisson", solver=solver, hidden_layer_sizes=(8,), max_iter=200, learning_rate_init=0.01,
              random_state=0)
    est = _quiet(MLPRegressor(**kw), X, y)
    deviance = 0.5 * mean_poisson_deviance(y, est.predict(X))
    assert deviance < 0.8 * 0.5 * mean_poisson_deviance(y, np.full_like(y, y.mean()))  # it learned the rate
    if solver != "gd" and tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 7):
        ref = _quiet(sk.MLPRegressor(**{k: v for k, v in kw.items()}), X, y)
        assert deviance < 0.5 * mean_poisson_deviance(y, ref.predict(X)) + 0.03  # as well as scikit-learn's
    mlplab.save(est, tmp_path / "m.safetensors")
    back = mlplab.load(tmp_path / "m.safetensors")
    assert back.loss == "poisson" and back.out_activation_ == "exp"
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
