"""A fitted mlplab estimator's state as JSON, for its model file: parameters, classes, fitted scalars.

JSON has only string object keys and no inf/NaN, so two values are tagged: a dict
(class_weight) is {"__dict__": [[key, value], ...]}, keeping int, float, bool and str keys
as they are, and a non-finite float (n_iter_no_change=np.inf) is {"__float__": "inf"}.
Tuples and arrays become lists, NumPy scalars Python ones (the estimator's restore turns
lists back). The estimator is read, never imported (no scikit-learn here).
"""

from __future__ import annotations

import numpy as np

from mlplab.optim.schedules import Custom, Schedule

DICT_TAG, FLOAT_TAG = "__dict__", "__float__"


def estimator_state(est) -> dict:
    """The JSON-able part of a fitted estimator: its parameters and fitted scalars."""
    params = {}
    for key, value in est.get_params(deep=False).items():
        if isinstance(value, Schedule) and not isinstance(value, Custom):  # a built-in schedule: its fields
            value = {"schedule": type(value).__name__, **{f: getattr(value, f) for f in value.__dataclass_fields__}}
        elif callable(value):
            raise ValueError(f"cannot save {type(est).__name__}: parameter {key}={value!r} is a callable, which "
                             "a model file cannot hold without pickle; use a schedule name or object instead")
        elif isinstance(value, np.random.RandomState):
            value = None
        params[key] = param_to_json(value)
    classes = getattr(est, "classes_", None)
    state = {
        "params": params,
        "n_features_in": int(est.n_features_in_),
        "feature_names_in": None if not hasattr(est, "feature_names_in_") else [str(f) for f in est.feature_names_in_],
        "classes": None if classes is None else np.asarray(classes).tolist(),
        "target_type": getattr(getattr(est, "_binarizer", None), "y_type_", None),
        "y_1d": getattr(est, "_y_1d", None),
        "n_iter": int(est.n_iter_),
        "t": int(est.t_),
        "loss": float(est.loss_),
        "loss_curve": [float(v) for v in est.loss_curve_] if hasattr(est, "loss_curve_") else None,
        "best_loss": None if getattr(est, "best_loss_", None) is None else float(est.best_loss_),
        "validation_scores": (None if getattr(est, "validation_scores_", None) is None
                              else [float(v) for v in est.validation_scores_]),
    }
    return state


def param_to_json(value):
    """An estimator parameter as JSON (tagged dicts and non-finite floats, lists for tuples and arrays)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return {FLOAT_TAG: repr(value)}  # 'inf', '-inf', 'nan'
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            k = k.item() if isinstance(k, np.generic) else k
            if not isinstance(k, (str, int, float)):
                raise ValueError(f"dictionary key {k!r} of type {type(k).__name__} cannot be stored in a model file")
            items.append([param_to_json(k), param_to_json(v)])
        return {DICT_TAG: items}
    if isinstance(value, (tuple, list)):
        return [param_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [param_to_json(v) for v in value.tolist()]
    return value


def param_from_json(value):
    """The inverse of :func:`param_to_json` (lists stay lists)."""
    if isinstance(value, dict) and set(value) == {FLOAT_TAG}:
        return float(value[FLOAT_TAG])
    if isinstance(value, dict) and set(value) == {DICT_TAG}:
        return {param_from_json(k): param_from_json(v) for k, v in value[DICT_TAG]}
    if isinstance(value, list):
        return [param_from_json(v) for v in value]
    return value  # including a plain dict (a built-in schedule's fields; an untagged class_weight)
