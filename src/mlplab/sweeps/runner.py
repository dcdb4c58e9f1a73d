"""One sweep run, as ``mlplab train`` would do it: the code a worker (process or Ray task) executes.

:func:`run_task` takes a task (the run's resolved settings and its train
options) and returns a plain dict of results — JSON-able, so it crosses
process and network boundaries as it is. It never touches the results
database: only the driver writes it.

Bit-identical results on every backend: the run depends on its settings
alone (the seed fixes w^0, the sampling and the splits), and each worker's
BLAS uses one thread, so no reduction order depends on the machine's load.
"""

from __future__ import annotations

import os
import time

# BLAS/OpenMP thread pools of one thread each; set in a worker before NumPy is imported
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}
CRASH_HOOK = "MLPLAB_SWEEP_TEST_CRASH"  # tests: "ID" or "ID:N" — the worker dies (os._exit) on attempts 1..N of run ID
DELAY_HOOK = "MLPLAB_SWEEP_TEST_DELAY"  # tests: seconds each run sleeps before it starts

_resolver = None
_limited = False


def limit_threads() -> None:
    """One BLAS thread in this process (threadpoolctl when installed; the env vars cover the rest)."""
    global _limited
    if _limited:
        return
    os.environ.update(ONE_THREAD)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # the env vars, set before NumPy was imported, already did it
        pass
    _limited = True


def prepare(cfg: dict, table):
    """Splits, scaler, targets, network and optimizer of a run: :func:`mlplab.config.prepare_run`,
    exactly as ``mlplab train`` builds them."""
    from mlplab.config import prepare_run

    return prepare_run(cfg, table)


def train_options(cfg: dict) -> dict:
    """The settings that are :func:`mlplab.train`'s keyword arguments (budgets, tolerances, seed, objective),
    as ``mlplab train`` passes them."""
    import inspect

    import mlplab

    skip = {"net", "X", "Y", "loss", "optimizer"}
    return {k: cfg[k] for k in inspect.signature(mlplab.train).parameters if k in cfg and k not in skip}


class _WeightBound(Exception):
    """A weight grew past ``max_weight`` (``mlplab train --max-weight``): the run diverged."""

    def __init__(self, k, value, bound, history):
        super().__init__(f"training diverged at iteration {k}: max |w_i| = {value:.3g} is above max_weight {bound:g}")
        self.k, self.history = k, history


def _weight_bound(net, bound):
    """train's callback enforcing ``max |w_i| <= bound``, as ``mlplab train`` does (None: no bound)."""
    if bound is None:
        return None
    from mlplab.train import History

    def callback(rec):
        import numpy as np

        big = float(np.max(np.abs(net.params))) if net.params.size else 0.0
        if not big <= bound:  # also NaN
            raise _WeightBound(rec["k"], big, bound, History())
        return False

    return callback


_warm: set = set()


def _warm_up(cfg: dict) -> None:
    """Load (or compile) the Numba SGD kernel once per worker and dtype, before the first SGD run's clock starts:
    its ``seconds`` are training time, not the process's one-time compile (several seconds)."""
    key = cfg["dtype"]
    if cfg["optimizer"] != "sgd" or key in _warm:
        return
    _warm.add(key)
    import numpy as np

    import mlplab

    net = mlplab.MLP([2, 1], activation="sigmoid", bias=False, init="zeros", dtype=key)
    X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, 1.0])
    mlplab.train(net, X, y, loss="squared", optimizer=mlplab.SGD(), max_iter=4, seed=0)


def _test_hooks(task: dict) -> None:
    crash = os.environ.get(CRASH_HOOK)
    if crash:
        rid, _, n = crash.partition(":")
        if int(rid) == task["id"] and task["attempt"] <= int(n or 1):
            os._exit(17)  # as if the worker were killed mid-run
    delay = os.environ.get(DELAY_HOOK)
    if delay:
        time.sleep(float(delay))


def divergence_message(exc, cfg: dict) -> str:
    """The stored reason of a diverged run: what happened, and the fix that applies to its method."""
    text = " ".join(str(exc).split()).split(". The last good weights")[0]
    opt = cfg.get("optimizer")
    if opt == "gd" and cfg.get("line_search") == "none":
        fix = "a smaller constant step --lr, or a line search (--line-search armijo)"
    elif opt == "gd":
        fix = "standardized inputs (--standardize) or an --l2 penalty; the line search chose the steps"
    else:
        fix = ("a smaller --lr" + (", or a decaying --schedule (inverse)" if cfg.get("schedule") == "constant"
                                   else ""))
    return f"{text}; try {fix}"


def run_task(task: dict) -> dict:
    """Run one sweep run; returns its results (status done or diverged) as a JSON-able dict.

    ``task``: id, attempt, cfg (resolved settings), options (train options), where
    (the spec's name for messages), model (the path to save the model to, or None),
    return_model (send the model file's bytes back as ``model_bytes`` instead).
    """
    limit_threads()
    _test_hooks(task)
    import numpy as np

    import mlplab
    from mlplab.config import HISTORY_ROWS, finite, model_extra, split_metrics, training_summary
    from mlplab.sweeps.spec import Resolver

    global _resolver
    if _resolver is None:
        _resolver = Resolver()
    cfg = task["cfg"]
    _warm_up(cfg)
    start = time.perf_counter()
    table = task.get("table")  # Ray: the data came with the task (the object store); no shared folder needed
    if table is None:
        table = _resolver.table(_resolver.args(task["options"], task["where"]))
    p = prepare(cfg, table)
    net, tr = p["net"], p["tr"]
    Xtr, ytr = p["X"][tr], p["y_all"][tr]
    out = {"id": task["id"], "pid": os.getpid()}
    with np.errstate(all="ignore"):
        try:
            result = mlplab.train(net, Xtr, ytr, loss=cfg["loss"], optimizer=p["optimizer"], **train_options(cfg),
                                  callback=_weight_bound(net, cfg.get("max_weight")))
        except (mlplab.DivergenceError, _WeightBound) as exc:
            h = exc.history
            out.update(status="diverged", stop_reason="diverged", n_iter=int(exc.k),
                       final_loss=None, grad_norm=None, cost=int(h.cost[-1]) if len(h) else 0,
                       forward_evals=int(h.forward_evals[-1]) if len(h.forward_evals) else 0,
                       seconds=time.perf_counter() - start, error=divergence_message(exc, cfg),
                       history=h.to_dict(HISTORY_ROWS) if len(h) else None, metrics=None, accuracy=None, model=None)
            return out
        metrics = split_metrics(net, p["X"], p["y_all"], tr, p["va"], p["te"], cfg, train=(Xtr, ytr))
    training = training_summary(result, cfg)
    training["elapsed_s"] = None  # the model file depends on the run's settings alone: byte-equal on every backend
    extra = model_extra(cfg, table, p["scaler"], metrics, training, result.history)
    if extra["cli"]["history"] is not None:  # wall-clock seconds per record: read back as NaN, like older files
        extra["cli"]["history"].pop("time", None)
    if task.get("return_model"):  # a Ray node may not share the driver's disk: the bytes go back with the result
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="mlplab-sweep-") as tmp:
            path = mlplab.save(net, Path(tmp) / "model.safetensors", extra=extra)
            out["model_bytes"] = path.read_bytes()
    elif task.get("model"):
        mlplab.save(net, task["model"], extra=extra)
    split = "test" if "test" in metrics else "validation" if "validation" in metrics else "train"
    out.update(status="done", stop_reason=result.stop_reason, n_iter=int(result.n_iter),
               final_loss=finite(result.loss), grad_norm=finite(result.grad_norm), cost=int(result.cost),
               forward_evals=int(result.forward_evals), seconds=float(result.elapsed), error=None,
               history=None,  # the history is in the model file, not stored twice
               metrics=metrics, accuracy=metrics[split].get("accuracy"), accuracy_split=split, model=task.get("model"))
    return out
