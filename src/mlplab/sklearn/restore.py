"""A fitted estimator rebuilt from a model file's metadata and network (:func:`mlplab.io.load`)."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state

from mlplab.network import MLP
from mlplab.optim import schedules
from mlplab.sklearn.compat import sklearn_activation
from mlplab.sklearn.estimators import MLPClassifier, MLPRegressor


def restore_estimator(kind: str, state: dict, net: MLP):
    """Rebuild a fitted estimator from a model file's metadata and network (see :mod:`mlplab.io`)."""
    cls = MLPClassifier if kind == "MLPClassifier" else MLPRegressor
    params = dict(state["params"])
    schedule = params.get("schedule")
    if isinstance(schedule, dict):
        fields = dict(schedule)
        params["schedule"] = getattr(schedules, fields.pop("schedule"))(**fields)
    for key in ("hidden_layer_sizes", "activation"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key]) if key == "hidden_layer_sizes" else list(params[key])
    est = cls(**params)
    if state["n_features_in"] != net.n_inputs:
        raise ValueError(f"n_features_in {state['n_features_in']} does not match the network's {net.n_inputs} inputs")
    est.net_ = net
    est.n_features_in_ = int(state["n_features_in"])
    if state.get("feature_names_in") is not None:
        est.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
    if cls is MLPClassifier:
        est.classes_ = np.asarray(state["classes"])
        kind_of_target = state["target_type"]
        if kind_of_target == "multilabel-indicator":
            est._binarizer = LabelBinarizer().fit(np.eye(len(est.classes_), dtype=int))
        else:
            est._binarizer = LabelBinarizer().fit(est.classes_)
        n_out = 1 if kind_of_target == "binary" else len(est.classes_)
        if est._binarizer.y_type_ != kind_of_target or n_out != net.n_outputs:
            raise ValueError(f"classes {state['classes']!r} do not match a network with {net.n_outputs} outputs")
    else:
        est._y_1d = bool(state["y_1d"])
    est.out_activation_ = sklearn_activation(net.activations[-1].name)
    est.n_outputs_, est.n_layers_ = net.n_outputs, net.n_layers + 1
    est.n_iter_, est.t_, est.loss_ = int(state["n_iter"]), int(state["t"]), float(state["loss"])
    if state.get("loss_curve") is not None:  # (an lbfgs fit has no loss curve, as scikit-learn's)
        est.loss_curve_ = list(state["loss_curve"])
        est.best_loss_ = state["best_loss"]
        est.validation_scores_ = state["validation_scores"]
        est.best_validation_score_ = None if not est.validation_scores_ else max(est.validation_scores_)
    est.history_ = None  # the engine's history is not stored in model files
    est._opt_state = est._optimizer_kind = None  # a warm start after loading restarts the optimizer's state
    est._sgd_state = None
    est._rng = np.random.default_rng(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    est._no_improvement_count = 0
    return est
