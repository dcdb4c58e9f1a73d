"""A sweep spec's [grid] and [random] tables → the combinations to run (each a dict of swept values).

The runs are the cross product of the [grid] lists, crossed with ``n`` points drawn from [random]'s
distributions (key by key in the order written, ``n`` values each, one NumPy generator seeded with
``sampler_seed``; the i-th values of every key form point i). Everything here is checked before a
single run is resolved: the tables' shapes, repeated or clashing keys, non-finite values, the size.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np

SWEEP_TABLES = ("grid", "random", "search")
# train options that belong to the sweep, not to a run: outputs, checkpoints, display
NOT_IN_SPEC = {
    "out": "each run's model is saved under DIR/models/ (the sweep's --out DIR)",
    "report": "use `mlplab sweep ... --report sweep.html` for the sweep's report",
    "plots": "figures of one run: `mlplab report DIR/models/run-0001.safetensors --plots FIGDIR`",
    "checkpoint-every": "a sweep resumes run by run; checkpoints are not kept for sweep runs",
    "checkpoint-dir": "a sweep resumes run by run; checkpoints are not kept for sweep runs",
    "keep-checkpoints": "a sweep resumes run by run; checkpoints are not kept for sweep runs",
    "resume": "rerun the same `mlplab sweep` command to resume a sweep",
    "json": "give --json to `mlplab sweep`",
    "quiet": "give --quiet to `mlplab sweep`",
}


class SpecError(ValueError):
    """The spec cannot be run as written; the message (one line) says what is wrong and how to fix it."""


def canonical(obj) -> str:
    """Canonical JSON: sorted keys, no spaces, floats by repr (exact round trip)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _flag(key: str) -> str:
    return key.replace("_", "-")


def draw_values(name: str, dist, n: int, rng: np.random.Generator, where: str) -> list:
    """n values of one [random] key."""
    if isinstance(dist, list):
        dist = {"choice": dist}
    if isinstance(dist, dict) and "dist" in dist:  # the long form: { dist = "loguniform", low = 1e-3, high = 1 }
        rest = {k: v for k, v in dist.items() if k != "dist"}
        kind = dist["dist"]
        if kind == "choice" and set(rest) == {"values"}:
            dist = {"choice": rest["values"]}
        elif set(rest) == {"low", "high"}:
            dist = {kind: [rest["low"], rest["high"]]}
        else:
            raise SpecError(f"{where}: [random] {name}: {{ dist = {kind!r}, ... }} needs low and high (or values for "
                            f"choice), got {sorted(rest)}")
    if not isinstance(dist, dict) or len(dist) != 1:
        raise SpecError(f"{where}: [random] {name} must be a list of choices or one of {{ uniform = [lo, hi] }}, "
                        f"{{ loguniform = [lo, hi] }}, {{ randint = [lo, hi] }}, {{ choice = [...] }}; got {dist!r}")
    (kind, arg), = dist.items()
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise SpecError(f"{where}: [random] {name}: choice needs a non-empty list, got {arg!r}")
        return [arg[int(i)] for i in rng.integers(0, len(arg), size=n)]
    ok = (isinstance(arg, list) and len(arg) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                         and math.isfinite(v) for v in arg) and arg[0] <= arg[1])
    if not ok or kind not in ("uniform", "loguniform", "randint"):
        raise SpecError(f"{where}: [random] {name} = {{ {kind} = {arg!r} }} is not a distribution; use uniform, "
                        "loguniform or randint with [lo, hi] (lo <= hi), or choice = [...]")
    lo, hi = arg
    if kind == "uniform":
        return [float(v) for v in rng.uniform(lo, hi, size=n)]
    if kind == "loguniform":
        if lo <= 0:
            raise SpecError(f"{where}: [random] {name}: loguniform needs 0 < lo <= hi, got [{lo}, {hi}]")
        return [float(v) for v in np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))]
    if int(lo) != lo or int(hi) != hi:
        raise SpecError(f"{where}: [random] {name}: randint needs integer bounds, got [{lo}, {hi}]")
    return [int(v) for v in rng.integers(int(lo), int(hi) + 1, size=n)]


def combinations(spec: dict, where: str = "the spec", draw: bool = True) -> tuple[dict, list[dict], list[str]]:
    """(shared options, [combo, ...], swept keys) of a spec dict; checks the sweep-specific parts."""
    if not isinstance(spec, dict):
        raise SpecError(f"a sweep spec must be a table (dict) of options with a [grid] table, got {type(spec).__name__}")
    grid = spec.get("grid", {})
    rand = spec.get("random", {})
    if not isinstance(grid, dict) or not isinstance(rand, dict):
        raise SpecError(f"{where}: grid and random must be tables ([grid], [random])")
    if not grid and not rand:
        raise SpecError(f"{where} has no [grid] table; list the values to sweep, e.g. [grid] lr = [0.1, 0.01]")
    shared = {k: v for k, v in spec.items() if k not in SWEEP_TABLES}
    for key, value in shared.items():
        if isinstance(value, dict) and key != "train":
            raise SpecError(f"{where}: table [{key}] does not apply to a sweep; a spec holds train options, a [train] "
                            "table, [grid] and [random]")
    for key in [*shared, *grid, *rand, *(k for t in shared.values() if isinstance(t, dict) for k in t)]:
        if _flag(key) in NOT_IN_SPEC:
            raise SpecError(f"{where}: {key!r} cannot be set in a sweep spec; {NOT_IN_SPEC[_flag(key)]}")
    _check_finite(where, shared, grid)
    swept, flags = [], {}
    for key, values in grid.items():
        if _flag(key) in flags:
            raise SpecError(f"{where}: [grid] {flags[_flag(key)]!r} and {key!r} name the same option; keep one of them")
        flags[_flag(key)] = key
        if not isinstance(values, list) or not values:
            raise SpecError(f"{where}: [grid] {key} must be a non-empty list of values, e.g. {key} = [..., ...]; "
                            f"got {values!r}")
        if len({canonical(v) for v in values}) != len(values):
            raise SpecError(f"{where}: [grid] {key} lists a value twice ({values!r}); list each value once")
        swept.append(key)
    if not rand:
        _check_size(where, 1, grid)
    for key in shared:
        if _flag(key) in {_flag(k) for k in [*grid, *rand]}:
            raise SpecError(f"{where}: {key!r} is both a shared option and a swept key; keep one of them")
    n = rand.get("n")
    draws = {}
    if rand:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise SpecError(f"{where}: [random] needs n = the number of draws (an integer >= 1), got {n!r}")
        seed = rand.get("sampler_seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SpecError(f"{where}: [random] sampler_seed must be an integer >= 0, got {seed!r}")
        keys = [k for k in rand if k not in ("n", "sampler_seed")]
        if not keys:
            raise SpecError(f"{where}: [random] has n but no distribution; add e.g. lr = {{ loguniform = [1e-3, 1] }}")
        _check_size(where, n, grid)
        rng = np.random.default_rng(seed)
        for key in keys:
            if _flag(key) in {_flag(k) for k in grid}:
                raise SpecError(f"{where}: {key!r} is both a [grid] and a [random] key; keep one of them")
            if draw:
                draws[key] = draw_values(key, rand[key], n, rng, where)
                swept.append(key)
            else:  # TPE: checked here, drawn by Optuna
                draw_values(key, rand[key], 1, np.random.default_rng(0), where)
    points = [dict(zip(draws, vals)) for vals in zip(*draws.values())] if draws else [{}]
    combos = [{**p, **dict(zip(grid, vals))} for p in points for vals in itertools.product(*grid.values())]
    return shared, combos, swept


MAX_RUNS = 100_000  # runs in one sweep: each is resolved and stored before the first starts


def _check_size(where: str, n_draws: int, grid: dict) -> None:
    """The number of runs (draws × the grid's product), counted before anything is expanded."""
    total = n_draws
    for values in grid.values():
        total *= len(values)
    if total > MAX_RUNS:
        raise SpecError(f"{where} asks for {total:,} runs; a sweep holds at most {MAX_RUNS:,} — split it into "
                        "several specs (each with its own --out), or sample it with [random] n = ...")


def _check_finite(where: str, shared: dict, grid: dict) -> None:
    """NaN and ±inf (TOML's nan, inf) are no option's value: one line naming the key."""
    def bad(v):
        if isinstance(v, float) and not math.isfinite(v):
            return True
        return isinstance(v, list) and any(bad(x) for x in v)

    tables = [("", shared), *((f"[{k}] ", t) for k, t in shared.items() if isinstance(t, dict)), ("[grid] ", grid)]
    for prefix, table in tables:
        for key, value in table.items():
            if not isinstance(value, dict) and bad(value):
                raise SpecError(f"{where}: {prefix}{key} = {value!r} holds a non-finite number (nan or inf); give "
                                "finite values")


def describe(combo: dict) -> str:
    """'optimizer=sgd lr=0.1 seed=0'."""
    def show(v):
        if isinstance(v, list):
            return ",".join(map(str, v)) or "''"
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    return " ".join(f"{k}={show(v)}" for k, v in combo.items())
