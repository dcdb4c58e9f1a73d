"""A ``train`` run from its settings: targets, splits, scaler, network w^0, optimizer; and what a
finished run records (metrics per split, the training summary, the model file's metadata).

One set of constructors for ``mlplab train`` and every sweep run, so a sweep's run is the run
``mlplab train --config`` makes, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

import mlplab
from mlplab import data as D
from mlplab import optim
from mlplab.optim.methods import schedule
from mlplab._memory import check_memory, gib
from mlplab.config.types import UserError

WEIGHT_COPIES = 4  # copies of w a run holds at once: w, ∇E, the step (or optimizer buffers) and the best w so far
HISTORY_ROWS = 1000  # at most this many history records are stored in a model file (evenly spaced)
CLI_FORMAT = 1  # version of the command-line metadata in a model file


def finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def targets(table: D.Table, cfg) -> np.ndarray:
    """What the engine trains on: codes 0..C−1 for classes, floats for regression."""
    if cfg["task"] == "classification":
        return D.codes_for(table.y, cfg["classes"], table.source)
    return table.y.astype(np.float64)


def build_optimizer(cfg):
    """The optimizer of the settings (:func:`mlplab.optim.method`, as every front end's): GD with its
    line search or step, or SGD / mini-batch SGD / momentum / Adam with the step-size schedule γ_k."""
    opt = cfg["optimizer"]
    if opt == "gd":
        return optim.method("gd", step={"exact": "exact", "armijo": "armijo"}.get(cfg["line_search"], cfg["lr"]))
    gamma = schedule(cfg["schedule"], cfg["lr"], power=cfg["power"], factor=cfg["decay_factor"],
                     every=cfg["decay_every"], rate=cfg["decay_rate"])
    return optim.method(opt, gamma=gamma, batch_size=cfg["batch_size"], sampling=cfg["sampling"],
                        average=cfg["average"], beta=cfg["beta"], nesterov=bool(cfg["nesterov"]))


def build_net(cfg: dict):
    """The network the resolved settings describe (architecture, activations, bias, w^0, dtype).

    Its memory is checked first: :data:`WEIGHT_COPIES` copies of w must fit into the memory
    available now, else a :class:`~mlplab.config.UserError` names the sizes (nothing is allocated).
    """
    sizes = [int(n) for n in cfg["layer_sizes"]]
    d = sum((a + bool(cfg["bias"])) * b for a, b in zip(sizes, sizes[1:]))
    itemsize = np.dtype(cfg["dtype"]).itemsize
    fix = "use smaller --hidden/--layers" + (" or --dtype float32" if itemsize > 4 else "")
    try:
        check_memory(WEIGHT_COPIES * d * itemsize, f"the network {'-'.join(map(str, sizes))} ({d:,} parameters: "
                     f"{gib(d * itemsize)} in {cfg['dtype']}) and the {WEIGHT_COPIES} copies of its weights that training holds", fix)
        return mlplab.MLP(sizes, activation=cfg["activation"], output_activation=cfg["output_activation"],
                          bias=cfg["bias"], init=cfg["init"], seed=cfg["seed"], dtype=cfg["dtype"])
    except MemoryError as exc:
        raise UserError(str(exc) if str(exc) else f"out of memory building the network {sizes}; {fix}") from None


def prepare_run(cfg: dict, table) -> dict:
    """Splits, scaler, targets, network and optimizer of a ``train`` run (the CLI's and each sweep run's),
    with ``mlplab train``'s checks and messages.

    Returns a dict: X (all rows, standardized if asked), y_all, tr/va/te indices, scaler, net, optimizer.
    """
    y_all = targets(table, cfg)
    tr, va, te = D.split_indices(len(table.X), cfg["val_split"], cfg["test_split"], cfg["seed"])
    if cfg["task"] == "classification" and len(np.unique(y_all[tr])) < 2:
        raise UserError("the training split holds a single class; use a smaller --val-split/--test-split or "
                        "another --seed")
    scaler = D.StandardScaler.fit(table.X[tr]) if cfg["standardize"] else None
    X = scaler.transform(table.X) if scaler else table.X
    try:
        net = build_net(cfg)
        optimizer = build_optimizer(cfg)
        mlplab.Problem(net, X[tr[:1]], y_all[tr[:1]], cfg["loss"], l2=cfg["l2"], reduction=cfg["reduction"])
    except ValueError as exc:  # activation/loss/init combinations the engine rejects
        raise UserError(str(exc)) from None
    return dict(X=X, y_all=y_all, tr=tr, va=va, te=te, scaler=scaler, net=net, optimizer=optimizer)


def predict_codes(out, loss, net, threshold) -> np.ndarray:
    """Class codes from the outputs ŷ (S, N_L): argmax, or ŷ >= threshold for one output unit."""
    if out.shape[1] > 1:
        return np.argmax(out, axis=1)
    cut = 0.0 if loss == "perceptron" else threshold  # perceptron: sign of the identity output
    return (out[:, 0] >= cut).astype(int)


def evaluate_metrics(net, X, y, cfg) -> dict:
    """E (as trained: sum or mean), mean e, and accuracy + confusion matrix, or MSE and R²."""
    problem = mlplab.Problem(net, X, y, cfg["loss"])
    out = np.empty((problem.S, net.n_outputs), dtype=net.dtype)
    E = problem.value(net.params, outputs=out)  # Σ_s e^s and ŷ^s from one forward pass
    m = {"n": int(len(X)), "loss": finite(E), "mean_loss": finite(E / len(X))}
    if cfg["task"] == "classification":
        pred = predict_codes(out, cfg["loss"], net, 0.5)
        C = len(cfg["classes"])
        conf = np.zeros((C, C), dtype=int)
        np.add.at(conf, (y.astype(int), pred), 1)
        m.update(accuracy=float(np.mean(pred == y)), confusion=conf.tolist())
    else:
        yhat = out[:, 0].astype(np.float64)
        mse = float(np.mean((y - yhat) ** 2))
        var = float(np.var(y))
        m.update(mse=mse, r2=finite(1 - mse / var) if var > 0 else None)
    return m


def split_metrics(net, X, y_all, tr, va, te, cfg: dict, train=None) -> dict:
    """The trained net's metrics on the train split, and on validation/test when they hold samples
    (the splits of :func:`prepare_run`). ``train``: (X[tr], y_all[tr]) when the caller has them."""
    Xtr, ytr = (X[tr], y_all[tr]) if train is None else train
    metrics = {"train": evaluate_metrics(net, Xtr, ytr, cfg)}
    for name, idx in (("validation", va), ("test", te)):
        if len(idx):
            metrics[name] = evaluate_metrics(net, X[idx], y_all[idx], cfg)
    return metrics


def training_summary(result, cfg: dict) -> dict:
    """What a model file and ``--json`` record of a finished :func:`mlplab.train` run: the stop, E(w^k),
    ‖∇E(w^k)‖ (and at w^0), the cost and the stopping rules."""
    return {"stop_reason": result.stop_reason, "n_iter": result.n_iter, "epochs": result.epochs,
            "loss": finite(result.loss), "grad_norm": finite(result.grad_norm), "cost": result.cost,
            "forward_evals": result.forward_evals, "grad_norm0": finite(result.grad_norm0),
            "tol": cfg["tol"] or None, "rtol": cfg["rtol"],
            "unbounded_steps": int(sum(result.history.unbounded)),
            "elapsed_s": result.elapsed, "interrupted": False}


def model_extra(cfg, table, scaler, metrics, training, history=None) -> dict:
    """The metadata a model file of a ``train`` run holds (``extra["cli"]``): the task, the classes, the
    feature names, the scaler, the settings, the summary and metrics, at most HISTORY_ROWS history records."""
    return {"cli": {
        "format": CLI_FORMAT, "task": cfg["task"], "loss": cfg["loss"], "l2": cfg["l2"],
        "reduction": cfg["reduction"], "classes": cfg["classes"], "feature_names": table.feature_names,
        "feature_names_given": table.named,
        "target": table.target_name, "n_features": int(table.X.shape[1]),
        "scaler": None if scaler is None else scaler.to_dict(), "data": table.source,
        "config": {k: v for k, v in cfg.items() if k not in ("classes",)},
        "training": training, "metrics": metrics,
        "history": None if history is None or not len(history) else history.to_dict(HISTORY_ROWS)}}
