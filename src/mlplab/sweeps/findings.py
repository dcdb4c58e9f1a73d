"""The sweep report's two verdict tables: which settings matter (η²), and Robbins–Monro per schedule.

* :func:`importance`: per swept key, the share of the ranking metric's variance over the
  configurations that the key's values explain (η² = between-value variance / total variance).
* :func:`robbins_monro`: per method and schedule form, whether γ_k satisfies Σγ_k = ∞ and
  Σγ_k² < ∞ (:mod:`mlplab.optim.schedules`), with the lecture's statement for the method
  (:func:`mlplab.analysis.theory_rate`): a schedule whose sum converges fails by stalling,
  one whose squares' sum diverges by a noise floor.
"""

from __future__ import annotations

import json

import numpy as np

from mlplab.analysis import theory_rate
from mlplab.config import build_optimizer, describe_optimizer
from mlplab.sweeps.results import first_params, group_keys, is_numeric

VERDICT_FAIL = "γ_k does not satisfy Robbins–Monro: no convergence guarantee (noise floor)"  # the lecture's words


def importance(summary) -> list[dict]:
    """Per swept key (the seed aside): the share of the ranking metric's variance over the configurations
    that the key's values explain (between-value variance / total; η², 0..1), and its best value.
    The metric is taken on a log scale when positive (losses span decades)."""
    swept = [k for k in summary.attrs.get("swept", []) if k != "seed"]
    m = summary["metric_mean"].to_numpy(dtype=float) if "metric_mean" in summary else np.array([])
    ok = np.isfinite(m)
    if ok.sum() < 3:
        return []
    v = np.log(m[ok]) if (m[ok] > 0).all() else m[ok]
    total = float(np.var(v))
    lower = summary.attrs.get("lower", True)
    out = []
    for k in swept:
        labels = [json.dumps(x, sort_keys=True, default=str) for x in summary.loc[ok, k]]
        groups = {}
        for lab, val in zip(labels, v):
            groups.setdefault(lab, []).append(val)
        if len(groups) < 2:
            continue
        if len(groups) > 20 and is_numeric(summary.loc[ok, k].tolist()):  # continuous draws: 10 quantile bins
            xs = np.asarray(summary.loc[ok, k].tolist(), dtype=float)
            edges = np.unique(np.quantile(xs, np.linspace(0, 1, 11)))
            bins = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, len(edges) - 2)
            groups = {}
            for b, val in zip(bins, v):
                groups.setdefault(f"[{edges[b]:.3g}, {edges[b + 1]:.3g}]", []).append(val)
        means = {g: float(np.mean(x)) for g, x in groups.items()}
        between = sum(len(groups[g]) * (means[g] - float(np.mean(v))) ** 2 for g in groups) / len(v)
        share = between / total if total > 0 else 0.0
        best = (min if lower else max)(means, key=means.get)
        out.append({"parameter": k, "share of variance (η²)": round(share, 3), "best value (mean)": best})
    out.sort(key=lambda r: -r["share of variance (η²)"])
    return out


def _failure(sched) -> str:
    """How a schedule fails Robbins–Monro: by stalling (Σγ_k < ∞) and/or by a noise floor (Σγ_k² = ∞)."""
    parts = []
    if sched.sum_diverges is False:
        parts.append("stalls: Σγ_k < ∞, so the steps add up to a finite distance and SGD can stop short of "
                     "a minimiser")
    if sched.sum_squares_converges is False:
        parts.append("noise floor: Σγ_k² = ∞, so the gradient noise never averages out and E(w^k) keeps "
                     "fluctuating around a minimiser")
    return "γ_k does not satisfy Robbins–Monro, no convergence guarantee — it " + " and ".join(parts) \
        if parts else "γ_k does not satisfy Robbins–Monro: no convergence guarantee"


def _verdict(text: str, sched) -> str:
    """The lecture's statement with the way a failing schedule fails (the statement says "noise floor" for all)."""
    if sched.robbins_monro is not False:
        return text
    if VERDICT_FAIL in text:
        return text.replace(VERDICT_FAIL, _failure(sched))
    return text.replace(" (noise floor)", "") + "; " + _failure(sched)


def robbins_monro(runs, keys=None) -> list[dict]:
    """Per distinct method and schedule form (the optimizer, its schedule, line search and power; the
    constants aside, they do not change the verdict): how many configurations use it, γ_k of the first,
    Σγ_k = ∞?, Σγ_k² < ∞?, Robbins–Monro, and the lecture's statement (a failing schedule stalls or
    leaves a noise floor)."""
    def yn(v):
        return "—" if v is None else "yes" if v else "no"

    seen: dict = {}
    for cfg in first_params(runs, group_keys(runs) if keys is None else keys):
        form = tuple(cfg.get(k) for k in ("optimizer", "schedule", "line_search", "power", "nesterov", "average"))
        if form in seen:
            seen[form]["configurations"] += 1
            continue
        method = describe_optimizer(cfg)
        opt = build_optimizer(cfg)
        sched = getattr(opt, "schedule", None) or getattr(getattr(opt, "base", None), "schedule", None)
        if sched is None:  # GD: a line search or a constant step, no schedule
            verdict = ("not a stochastic method: Robbins–Monro does not apply (the step comes from the line search)"
                       if cfg.get("line_search") != "none" else
                       "not a stochastic method: Robbins–Monro does not apply (constant step α)")
            seen[form] = {"method": method, "configurations": 1, "Σγ_k = ∞": "—", "Σγ_k² < ∞": "—",
                          "Robbins–Monro": "n/a", "verdict": verdict + "; " + theory_rate(opt)}
            continue
        rm = sched.robbins_monro
        seen[form] = {"method": method, "configurations": 1, "Σγ_k = ∞": yn(sched.sum_diverges),
                      "Σγ_k² < ∞": yn(sched.sum_squares_converges), "Robbins–Monro": yn(rm),
                      "verdict": _verdict(theory_rate(opt), sched)}
    rows = list(seen.values())
    for r in rows:
        if r["configurations"] > 1:
            r["method"] += f" (first of {r['configurations']}; the constants differ)"
    return rows
