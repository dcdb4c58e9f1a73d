"""The cases written with scikit-learn's MLPClassifier (solver="sgd", no momentum, no L2)."""

from __future__ import annotations

import warnings

import numpy as np

from bench.core import Clock


def _classifier(sizes, activation, batch_size, lr, **kw):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation=activation, solver="sgd",
                         batch_size=batch_size, learning_rate_init=lr, momentum=0.0,
                         nesterovs_momentum=False, alpha=0.0, shuffle=True, random_state=0,
                         tol=0.0, n_iter_no_change=10**9, **kw)


def _start_from(clf, X, y, classes, init):
    """Initialise sklearn's internals with one tiny partial_fit, then load the shared w^0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:2], y[:2], classes=classes)
    clf.warm_start = True  # the next fit continues from coefs_ instead of re-initialising
    for ell, (W, b) in enumerate(init):
        clf.coefs_[ell][...] = W.T  # sklearn stores W^ℓ transposed, (N_{ℓ−1}, N_ℓ)
        clf.intercepts_[ell][...] = b
    clf.t_ = 0


def _layers(clf):
    return [(W.T.copy(), b.copy()) for W, b in zip(clf.coefs_, clf.intercepts_)]


def epoch(data, sizes, activation, init, dtype, batch_size, lr):
    act = {"sigmoid": "logistic", "relu": "relu"}[activation]
    clf = _classifier(sizes, act, batch_size, lr, max_iter=1)
    _start_from(clf, data.X, data.y, np.arange(sizes[-1]), init)
    with warnings.catch_warnings(), Clock() as c:
        warnings.simplefilter("ignore")
        clf.fit(data.X, data.y)
    return c.seconds, _layers(clf)


def sgd(X, y, sizes, n_steps, init):
    """|B| = 1, γ = 1/t ("invscaling", power_t = 1; sklearn updates γ once per epoch)."""
    n_epochs = max(1, n_steps // len(X))
    classes = np.arange(max(2, sizes[-1]))
    clf = _classifier(sizes, "logistic", 1, 1.0, max_iter=n_epochs, learning_rate="invscaling", power_t=1.0)
    _start_from(clf, X, y, classes, init)
    with warnings.catch_warnings(), Clock() as c:
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return c.seconds, n_epochs * len(X)
