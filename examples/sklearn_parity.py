"""mlplab's estimators against scikit-learn's MLP, with equivalent settings, in one run.

    python examples/sklearn_parity.py [--repeats N] [--max-iter N]

For each of scikit-learn's bundled data sets (digits, breast_cancer, iris;
diabetes for regression) and four generated ones the project does not use
otherwise (make_classification(5000, 20, random_state=1), make_regression(5000,
20, noise=10, random_state=1), make_classification(20000, 40, n_informative=20,
n_classes=4, random_state=2), make_regression(50000, 30, n_informative=20,
noise=20, random_state=3)), with a fixed 75/25 train/test split and
standardised inputs (and, for regression, standardised targets), both libraries
fit the same architecture (one hidden layer of 100 relu units) with the same
solver, batch size (200, "auto"), learning rate (1e-3), L2 alpha (1e-4), budget
(max_iter) and stopping rule (tol 1e-4, 10 epochs without improvement). The
solver names mean the same algorithm in both libraries: "adam"; "sgd"
(mini-batch SGD with Nesterov momentum 0.9, learning_rate="constant");
"lbfgs" (scipy's L-BFGS-B, maxiter=max_iter, maxfun=15000, gtol=tol). The
objective is scikit-learn's in both (mlplab's regressor minimises the ½-mean
squared error by default). Seeds: random_state=0 for both (mlplab draws
scikit-learn's initial weights and epoch shuffles from it, so both start from
the same weights and visit the same batches). BLAS runs single-threaded for
both (threadpoolctl; ``--threads all`` leaves it as the environment sets it). The fits are interleaved (scikit-learn, mlplab, then
mlplab, scikit-learn, …) so that a change in the machine's load falls on both.
Prints test accuracy / R², fit time (median of the repeats) and the time ratio
(the median of the repeats' paired ratios). ``--only NAME`` runs the data sets
whose name contains NAME.
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
            "regression(5000, 20)": lambda return_X_y: make_regression(5000, 20, noise=10, random_state=1),
            "classification(20000, 40, 4 classes)": lambda return_X_y: make_classification(
                20000, 40, n_informative=20, n_classes=4, random_state=2),
            "regression(50000, 30)": lambda return_X_y: make_regression(
                50000, 30, n_informative=20, noise=20, random_state=3)}
REGRESSION = {"diabetes", "regression(5000, 20)", "regression(50000, 30)"}
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


def _fit_time(est, X, y):
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0


def interleaved_fits(sk, ml, X, y, repeats):
    """Fit both ``repeats`` times, alternating which goes first; (sk times, ml times)."""
    t_sk, t_ml = [], []
    for r in range(repeats):
        if r % 2 == 0:
            t_sk.append(_fit_time(sk, X, y))
            t_ml.append(_fit_time(ml, X, y))
        else:
            t_ml.append(_fit_time(ml, X, y))
            t_sk.append(_fit_time(sk, X, y))
    return np.array(t_sk), np.array(t_ml)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits per estimator; the median time is shown")
    parser.add_argument("--max-iter", type=int, default=200, help="epoch budget (default 200)")
    parser.add_argument("--only", default="", help="run only the data sets whose name contains this")
    parser.add_argument("--threads", default="1", help="BLAS threads for both: a number, or 'all' (default 1)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    header = (f"| data set | solver | metric | scikit-learn | mlplab | mlplab − sklearn | "
              f"sklearn fit s | mlplab fit s | time ratio |")
    print(header)
    print("|" + "---|" * 9)
    for name in DATASETS:
        if args.only not in name:
            continue
        regression, X_tr, X_te, y_tr, y_te = split(name)
        for solver in SOLVERS:
            sk, ml = pair(regression, solver, args.max_iter)
            with threadpool_limits(None if args.threads == "all" else int(args.threads)):
                times_sk, times_ml = interleaved_fits(sk, ml, X_tr, y_tr, args.repeats)
            t_sk, t_ml, ratio = np.median(times_sk), np.median(times_ml), np.median(times_ml / times_sk)
            s_sk, s_ml = sk.score(X_te, y_te), ml.score(X_te, y_te)
            metric = "R²" if regression else "accuracy"
            label = "sgd (Nesterov momentum)" if solver == "sgd" else solver
            print(f"| {name} | {label} | {metric} | {s_sk:.4f} | {s_ml:.4f} | {100 * (s_ml - s_sk):+.2f} pp | "
                  f"{t_sk:.3f} | {t_ml:.3f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
