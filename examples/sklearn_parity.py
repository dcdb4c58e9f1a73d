"""mlplab's estimators against scikit-learn's MLP, with equivalent settings, in one run.

    python examples/sklearn_parity.py [--repeats N] [--max-iter N]

For each of scikit-learn's bundled data sets (digits, breast_cancer, iris;
diabetes for regression) and two generated ones the project does not use
otherwise (make_classification(5000, 20, random_state=1), make_regression(5000,
20, noise=10, random_state=1)), with a fixed 75/25 train/test split and
standardised inputs (and, for regression, standardised targets), both libraries
fit the same architecture (one hidden layer of 100 relu units) with the same
solver, batch size (200, "auto"), learning rate (1e-3), L2 alpha (1e-4), budget
(max_iter) and stopping rule (tol 1e-4, 10 epochs without improvement). The
solver names mean the same algorithm in both libraries: "adam"; "sgd"
(mini-batch SGD with Nesterov momentum 0.9, learning_rate="constant");
"lbfgs" (scipy's L-BFGS-B, maxiter=max_iter, maxfun=15000, gtol=tol). The
objective is scikit-learn's in both (mlplab's regressor minimises the ½-mean
squared error by default). Seeds: random_state=0 for both (each library draws
its own initial weights and batches from it). BLAS runs single-threaded for
both (threadpoolctl). Prints test accuracy / R², fit time (median of the
repeats) and the ratios.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits, load_iris, make_classification,
                              make_regression)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlplab.sklearn import MLPClassifier, MLPRegressor

DATASETS = {"digits": load_digits, "breast_cancer": load_breast_cancer, "iris": load_iris, "diabetes": load_diabetes,
            "classification(5000, 20)": lambda return_X_y: make_classification(5000, 20, random_state=1),
            "regression(5000, 20)": lambda return_X_y: make_regression(5000, 20, noise=10, random_state=1)}
REGRESSION = {"diabetes", "regression(5000, 20)"}
SOLVERS = ("adam", "sgd", "lbfgs")


def split(name):
    X, y = DATASETS[name](return_X_y=True)
    regression = name in REGRESSION
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0,
                                              stratify=None if regression else y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if regression:
        mu, sd = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mu) / sd, (y_te - mu) / sd
    return regression, X_tr, X_te, y_tr, y_te


def pair(regression, solver, max_iter):
    common = dict(hidden_layer_sizes=(100,), activation="relu", alpha=1e-4, batch_size="auto",
                  learning_rate_init=1e-3, max_iter=max_iter, tol=1e-4, n_iter_no_change=10, random_state=0)
    sk_cls, ml_cls = (SkRegressor, MLPRegressor) if regression else (SkClassifier, MLPClassifier)
    if solver == "sgd":
        common.update(momentum=0.9, nesterovs_momentum=True, learning_rate="constant")
    return sk_cls(solver=solver, **common), ml_cls(solver=solver, **common)


def timed_fit(est, X, y, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t0)
    return est, float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits per estimator; the median time is shown")
    parser.add_argument("--max-iter", type=int, default=200, help="epoch budget (default 200)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    header = (f"| data set | solver | metric | scikit-learn | mlplab | mlplab − sklearn | "
              f"sklearn fit s | mlplab fit s | time ratio |")
    print(header)
    print("|" + "---|" * 9)
    for name in DATASETS:
        regression, X_tr, X_te, y_tr, y_te = split(name)
        for solver in SOLVERS:
            sk, ml = pair(regression, solver, args.max_iter)
            with threadpool_limits(1):
                sk, t_sk = timed_fit(sk, X_tr, y_tr, args.repeats)
                ml, t_ml = timed_fit(ml, X_tr, y_tr, args.repeats)
            s_sk, s_ml = sk.score(X_te, y_te), ml.score(X_te, y_te)
            metric = "R²" if regression else "accuracy"
            label = "sgd (Nesterov momentum)" if solver == "sgd" else solver
            print(f"| {name} | {label} | {metric} | {s_sk:.4f} | {s_ml:.4f} | {100 * (s_ml - s_sk):+.2f} pp | "
                  f"{t_sk:.3f} | {t_ml:.3f} | {t_ml / t_sk:.2f} |", flush=True)


if __name__ == "__main__":
    main()
