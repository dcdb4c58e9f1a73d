"""Sparse X in the scikit-learn estimators: CSR/CSC, matrices and arrays, every solver.

Oracle: the same estimator fitted on the dense copy of the data with the same random_state
(the same initial weights, blocks and validation split): the sparse fit must give the same
weights to rounding (layer 1's products go through scipy.sparse instead of BLAS, so sums are
taken in another order). Memory: a 50,000 × 100,000 CSR matrix (0.01 % nonzeros) is fitted
while tracemalloc watches every NumPy allocation; its dense copy would take 40 GB.
"""

import tracemalloc
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
sp = pytest.importorskip("scipy.sparse")

from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from mlplab.sklearn import SOLVERS, MLPClassifier, MLPRegressor  # noqa: E402

CONTAINERS = [sp.csr_matrix, sp.csr_array, sp.csc_matrix, sp.csc_array, sp.coo_array]


def _quiet(call, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kw)


def _sparse_data(kind, n=240, seed=0):
    """Data with about 70 % zeros (entries with |x| < 1 set to 0)."""
    if kind == "classifier":
        X, y = make_classification(n, 12, n_informative=6, n_classes=3, random_state=seed)
    else:
        X, y = make_regression(n, 12, n_targets=2, noise=1.0, random_state=seed)
        y = y / y.std()
    X[np.abs(X) < 1] = 0.0
    return X, y


def _settings(solver):
    kw = dict(solver=solver, hidden_layer_sizes=(7,), random_state=0, max_iter=12, batch_size=50)
    if solver == "lecture_sgd":
        kw.update(learning_rate_init=1e-3, max_iter=3)
    return kw


def _assert_same_weights(a, b, atol=1e-12):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(p, q, rtol=0, atol=atol)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_fit_equals_dense_fit(kind, solver):
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    X, y = _sparse_data(kind)
    dense = _quiet(cls(**_settings(solver)).fit, X, y)
    for container in (sp.csr_matrix, sp.csc_array):
        Xs = container(X)
        est = _quiet(cls(**_settings(solver)).fit, Xs, y)
        _assert_same_weights(est, dense)
        np.testing.assert_allclose(est.history_.loss, dense.history_.loss, rtol=1e-12)
        assert est.n_iter_ == dense.n_iter_
        assert est.score(Xs, y) == pytest.approx(dense.score(X, y), abs=1e-12)
        assert Xs.format in ("csr", "csc") and sp.issparse(Xs)  # the caller's data is left as it was


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_container_predicts_like_dense(container):
    X, y = _sparse_data("classifier")
    est = _quiet(MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit, X, y)
    np.testing.assert_allclose(est.predict_proba(container(X)), est.predict_proba(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(est.predict(container(X)), est.predict(X))
    fitted = _quiet(MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit, container(X), y)
    _assert_same_weights(fitted, est)


@pytest.mark.parametrize("solver", ["sgd", "adam", "momentum", "lecture_sgd"])
def test_sparse_partial_fit_equals_dense(solver):
    X, y = _sparse_data("classifier")
    kw = _settings(solver)
    dense, sparse = MLPClassifier(**kw), MLPClassifier(**kw)
    for chunk in np.array_split(np.arange(len(X)), 3):
        dense.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        sparse.partial_fit(sp.csr_array(X[chunk]), y[chunk], classes=[0, 1, 2])
    _assert_same_weights(sparse, dense)
    assert sparse.score(sp.csr_matrix(X), y) == dense.score(X, y)


def test_sparse_early_stopping_and_sample_weight_equal_dense():
    X, y = _sparse_data("classifier")
    sw = np.random.default_rng(0).integers(1, 4, len(X)).astype(float)
    kw = dict(hidden_layer_sizes=(5,), early_stopping=True, max_iter=15, random_state=0)
    dense = _quiet(MLPClassifier(**kw).fit, X, y, sample_weight=sw)
    sparse = _quiet(MLPClassifier(**kw).fit, sp.csc_matrix(X), y, sample_weight=sw)
    _assert_same_weights(sparse, dense)
    assert sparse.validation_scores_ == dense.validation_scores_


def test_sparse_float32_stays_float32():
    X, y = _sparse_data("regressor")
    est = _quiet(MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit,
                 sp.csr_array(X.astype(np.float32)), y)
    assert est.coefs_[0].dtype == np.float32
    assert est.predict(sp.csr_array(X[:3].astype(np.float32))).dtype == np.float32
    # float64 input promotes the float32 weights, as scikit-learn's products do
    assert est.predict(sp.csr_array(X[:3])).dtype == np.float64


def test_non_finite_sparse_values_are_refused():
    X, y = _sparse_data("classifier")
    Xs = sp.csr_array(X)
    Xs.data[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier(max_iter=2).fit(Xs, y)


def test_tfidf_pipeline():
    rng = np.random.default_rng(0)
    sport = "match goal team player score league coach season win referee stadium".split()
    cooking = "recipe oven flour sugar butter bake dinner spice soup garlic kitchen".split()
    shared = "the a today new good big with for and very".split()

    def texts(words, n):
        return [" ".join(rng.choice(words + shared, size=8)) for _ in range(n)]

    docs = texts(sport, 60) + texts(cooking, 60)
    labels = np.array(["sport"] * 60 + ["cooking"] * 60)
    order = rng.permutation(len(docs))
    docs, labels = [docs[i] for i in order], labels[order]
    pipe = make_pipeline(TfidfVectorizer(), MLPClassifier(hidden_layer_sizes=(10,), max_iter=200, random_state=0))
    _quiet(pipe.fit, docs[:90], labels[:90])
    assert sp.issparse(pipe[0].transform(docs[:2]))
    assert pipe.score(docs[90:], labels[90:]) >= 0.95
    assert set(pipe.predict(["goal for the team", "bake the flour with butter"])) == {"sport", "cooking"}


@pytest.mark.parametrize("solver,kw", [("adam", dict(max_iter=1, batch_size=5000)),
                                       ("sgd", dict(max_iter=1, batch_size=5000)),
                                       ("lbfgs", dict(max_iter=2))])
def test_sparse_data_is_never_densified(solver, kw):
    """50,000 × 100,000 CSR, 0.01 % nonzeros: dense it is 40 GB, one dense block of 5,000 rows 4 GB,
    one of the full passes' 2,048-row chunks 1.6 GB. The whole fit and a prediction stay under 250 MB
    (the network's 500,005 parameters, the optimizer's state and layer 1's (N_0, N_1) gradient)."""
    rng = np.random.default_rng(0)
    n, p, nnz = 50_000, 100_000, 500_000  # 0.01 % of the entries
    X = sp.csr_array((rng.random(nnz), (rng.integers(0, n, nnz), rng.integers(0, p, nnz))), shape=(n, p))
    half = np.asarray(X[:, :50_000].sum(axis=1)).ravel() - np.asarray(X[:, 50_000:].sum(axis=1)).ravel()
    y = (half > 0).astype(int)
    tracemalloc.start()
    try:
        est = _quiet(MLPClassifier(hidden_layer_sizes=(5,), solver=solver, random_state=0, **kw).fit, X, y)
        proba = est.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert proba.shape == (50_000, 2) and np.all(np.isfinite(proba))
    assert peak < 250e6, f"peak {peak / 1e6:.0f} MB"
