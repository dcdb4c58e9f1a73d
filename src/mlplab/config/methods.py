"""``compare --method`` specs: ``minibatch:2:inverse:1.0`` → the optimizer settings of one method.

The settings are those of ``train``'s optimizer options (:func:`mlplab.config.settings.optimizer_config`),
so :func:`mlplab.config.run.build_optimizer` builds either::

    gd[:exact|armijo|STEP]                gd:exact (default), gd:armijo, gd:0.1 (constant step)
    sgd[:SCHEDULE[:C]]                    sgd:inverse:1.0  — gamma_k = C/(k+1), one sample per step
    minibatch[:B[:SCHEDULE[:C]]]          minibatch:2:inverse:1.0 — |B_k| = B, block sum (the lecture's)
    momentum[:B[:C[:BETA]]]               momentum:32:0.01:0.9 — block mean
    adam[:B[:C]]                          adam:32:0.01 — block mean
"""

from __future__ import annotations

import argparse
import math

SCHEDULES = ("inverse", "constant", "power", "step", "exp")
OPTIMIZERS = ("gd", "sgd", "minibatch", "momentum", "adam")
EXAMPLES = "e.g. gd:exact, sgd:inverse:1.0, minibatch:2:inverse:1.0, adam:32:0.01"


def _spec_error(text, why):
    return argparse.ArgumentTypeError(f"bad optimizer spec {text!r}: {why} ({EXAMPLES})")


def parse_method(text: str) -> dict:
    """One spec like ``minibatch:2:inverse:1.0`` → the optimizer config of :func:`mlplab.config.build_optimizer`."""
    parts = [p.strip() for p in text.strip().split(":")]
    opt, rest = parts[0].lower(), parts[1:]
    if opt not in OPTIMIZERS:
        raise _spec_error(text, f"unknown optimizer {parts[0]!r}; use one of {', '.join(OPTIMIZERS)}")

    def number(s, what, integer=False):
        try:
            v = int(s) if integer else float(s)
        except ValueError:
            raise _spec_error(text, f"{what} must be {'an integer' if integer else 'a number'}, got {s!r}") from None
        if not math.isfinite(v) or v <= 0:
            raise _spec_error(text, f"{what} must be positive, got {s!r}")
        return v

    cfg = dict(optimizer=opt, line_search=None, lr=None, schedule=None, power=None, decay_factor=None,
               decay_every=None, decay_rate=None, sampling=None, batch_size=None, average=None, beta=None,
               nesterov=None)
    if opt == "gd":
        if len(rest) > 1:
            raise _spec_error(text, "gd takes one field: exact, armijo or a constant step")
        ls = rest[0].lower() if rest else "exact"
        if ls in ("exact", "armijo"):
            cfg.update(line_search=ls)
        else:
            cfg.update(line_search="none", lr=number(rest[0], "the gd step size"))
        return cfg
    fields = {"sgd": ["schedule", "lr"], "minibatch": ["batch_size", "schedule", "lr"],
              "momentum": ["batch_size", "lr", "beta"], "adam": ["batch_size", "lr"]}[opt]
    if len(rest) > len(fields):
        raise _spec_error(text, f"{opt} takes at most {len(fields)} fields: {':'.join(f.upper() for f in fields)}")
    given = dict(zip(fields, rest))
    if "schedule" in given and given["schedule"].lower() not in SCHEDULES:
        raise _spec_error(text, f"unknown schedule {given['schedule']!r}; use one of {', '.join(SCHEDULES)}")
    cfg.update(
        schedule=given.get("schedule", "inverse" if opt in ("sgd", "minibatch") else "constant").lower(),
        lr=number(given["lr"], "the step size constant C") if "lr" in given else
        {"sgd": 1.0, "minibatch": 1.0, "momentum": 0.01, "adam": 1e-3}[opt],
        batch_size=None if opt == "sgd" else (number(given["batch_size"], "the batch size B", integer=True)
                                              if "batch_size" in given else 32),
        average=opt in ("momentum", "adam"))
    if "beta" in given:
        beta = number(given["beta"], "beta")
        if beta >= 1:
            raise _spec_error(text, f"beta must be in [0, 1), got {given['beta']!r}")
        cfg["beta"] = beta
    return cfg


def method_list(text: str) -> list[dict]:
    """``--method`` value: one spec or several separated by commas (as a config file's list gives them)."""
    specs = [s for s in text.split(",") if s.strip()]
    if not specs:
        raise argparse.ArgumentTypeError(f"expected an optimizer spec ({EXAMPLES}), got {text!r}")
    return [parse_method(s) for s in specs]


method_list.__name__ = "optimizer spec"
