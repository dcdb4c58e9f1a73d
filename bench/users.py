"""``PYTHONPATH=src python -m bench.users [REPEATS]``: the paths users call, interleaved, in one process.

The rows of the README's "paths users call" table, quicker than ``python -m bench``: one epoch
of B1's data (60,000 × 784, 784-300-10 sigmoid + softmax cross-entropy, float32, |B| = 128,
γ = 0.1) through ``mlplab.train`` with default settings and with ``monitor="batch"``, the fused
``Problem.sgd_step`` loop, the ``torch.optim`` loop, both ``MLPClassifier(solver="sgd")``,
``net.loss_and_grad`` per block beside torch forward + backward, and the lecture's SGD on the
slides' [2, 2, 2, 1] net (steps/s) beside a PyTorch per-sample loop. One warm-up of every row,
then REPEATS rounds of every row; prints each time as it comes and the lists as JSON.
Needs scikit-learn and torch.
"""
import json
import sys
import time
import warnings

import numpy as np

import mlplab
import mlplab.sklearn
from bench import cases_users, impl_torch
from bench import impl_mlplab as ml
from bench.core import glorot_weights, make_data
from mlplab.optim import SGD, MiniBatchSGD

DATA = make_data(60_000, 784)
SIZES = (784, 300, 10)
INIT = glorot_weights(SIZES, "float32")
ORDER = np.random.default_rng(1).permutation(60_000)


def train_default(monitor="auto"):
    net = ml._net(SIZES, "sigmoid", INIT, "float32")
    t = time.perf_counter()
    mlplab.train(net, DATA.X, DATA.y, "cross_entropy", MiniBatchSGD(128, 0.1, average=True), epochs=1,
                 monitor=monitor)
    return time.perf_counter() - t


def estimator(module):
    settings = dict(hidden_layer_sizes=(300,), activation="logistic", solver="sgd", batch_size=128, momentum=0,
                    max_iter=1, learning_rate_init=0.1)
    if module == "mlplab":
        clf = mlplab.sklearn.MLPClassifier(**settings)
    else:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(**settings)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after one epoch
        clf.fit(DATA.X, DATA.y)
    return time.perf_counter() - t


def sgd_slides(library):
    """Steps/s of the lecture's SGD (γ_k = 1/(k+1), j_k uniform) on the slides' [2, 2, 2, 1] net."""
    X, y = mlplab.datasets.lecture_network()
    sizes = tuple(mlplab.datasets.LECTURE_NETWORK_SIZES)
    if library == "mlplab":
        n = 200_000
        net = mlplab.MLP(list(sizes), activation="sigmoid", output_activation="sigmoid", bias=False, seed=0)
        t = time.perf_counter()
        mlplab.train(net, X, y, "squared", SGD(), max_iter=n, tol=None, eval_every=n, seed=0)
        return n / (time.perf_counter() - t)
    n = 5_000
    seconds, _ = impl_torch.sgd(X, y, sizes, "sigmoid", "sigmoid", "squared", False, glorot_weights(sizes, X.dtype),
                                n, seed=0)
    return n / seconds


RUNS = {
    "train() default": train_default,
    "train(monitor='batch')": lambda: train_default("batch"),
    "fused Problem.sgd_step": lambda: ml.epoch(DATA, SIZES, "sigmoid", INIT, "float32", 128, 0.1, ORDER)[0],
    "torch.optim loop": lambda: impl_torch.epoch(DATA, SIZES, "sigmoid", INIT, "float32", 128, 0.1, ORDER)[0],
    "MLPClassifier sgd mlplab": lambda: estimator("mlplab"),
    "MLPClassifier sgd sklearn": lambda: estimator("sklearn"),
    "loss_and_grad per batch mlplab": lambda: cases_users._loss_and_grad_mlplab(DATA, SIZES, INIT, 128)[0],
    "fwd+bwd per batch torch": lambda: cases_users._loss_and_grad_torch(DATA, SIZES, INIT, 128)[0],
    "SGD [2,2,2,1] mlplab steps/s": lambda: sgd_slides("mlplab"),
    "SGD [2,2,2,1] torch steps/s": lambda: sgd_slides("torch"),
}


def main(repeats: int = 1) -> dict:
    results = {name: [] for name in RUNS}
    for name, run in RUNS.items():
        print("warm-up", name, run(), flush=True)
    for _ in range(repeats):
        for name, run in RUNS.items():
            time.sleep(0.3)  # let the last library's worker threads stop spinning (bench.core.settle)
            results[name].append(run())
            print(name, results[name], flush=True)
    print(json.dumps(results), flush=True)
    return results


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
