"""A sweep spec → the list of runs, each resolved and checked exactly as ``mlplab train --config`` would.

A spec is a ``mlplab train --config`` file (top-level keys: train options shared
by every run; a ``[train]`` table as in any config file) plus

* ``[grid]``: each key lists values; the runs are the cross product;
* ``[random]`` (optional): ``n`` points drawn from distributions, crossed with the grid::

      [random]
      n = 8                                # number of draws (required)
      sampler_seed = 0                     # seed of the draws (default 0)
      lr = { loguniform = [1e-3, 1.0] }    # also uniform = [lo, hi], randint = [lo, hi] (inclusive),
      batch_size = [8, 16, 32]             # choice = [...], or a plain list (a uniform choice);
      l2 = { dist = "uniform", low = 0, high = 0.1 }   # the long form of the same

  The draws are made key by key in the order written (``n`` values each, one
  NumPy generator seeded with ``sampler_seed``), then the i-th values of every
  key form point i; each point is crossed with the grid.

* ``[search]`` (optional): how the sweep searches and ranks::

      [search]
      metric = "validation_loss"   # what ranks the runs, what TPE minimises and successive halving promotes
                                   # (default "auto": validation, else test, else training mean loss)
      sampler = "tpe"              # draw [random]'s n points with Optuna's TPE (default "random": independent)
      early_stop = { budget = "epochs", min = 1, eta = 3 }   # successive halving, a whole rung promoted at once

  Successive halving runs every configuration with the budget ``min`` (epochs,
  or ``max_iter`` steps), and promotes the best 1/eta of each rung to eta times
  the budget, up to the spec's own ``epochs``/``max_iter``; each rung's run is
  a run of its own (a ``mlplab train --config`` with that budget), so a resumed
  sweep and ``--best`` see every rung.

Relative data paths are resolved against the spec's folder (then the current
folder), so every worker gets the same absolute path; on Ray the data travel
with the tasks (the object store), and no node needs the driver's files.

Every combination goes through ``mlplab train --config``'s own config reader and
resolution (:mod:`mlplab.config`, which the command line is built from too), so a
combination that ``mlplab train`` would refuse is refused here with the same
message — all of them before any run starts. The [grid] and [random] tables
are expanded in :mod:`mlplab.sweeps.grid`, each run resolved by
:class:`mlplab.sweeps.resolver.Resolver`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import mlplab
from mlplab.config import UserError, is_builtin, read_config_text
from mlplab.data import DataError
from mlplab.sweeps.grid import (MAX_RUNS, NOT_IN_SPEC, SWEEP_TABLES, SpecError, canonical,  # noqa: F401
                                combinations, describe, draw_values)
from mlplab.sweeps.resolver import NET_KEYS, TARGET_KEYS, Resolver  # noqa: F401

METRICS = {  # name -> (what it is, lower is better)
    "auto": ("validation mean loss, else test mean loss, else training E", True),
    "E": ("training E(w) at the end", True),
    "grad_norm": ("‖∇E(w)‖ at the end", True),
    "train_loss": ("mean loss on the training split", True),
    "validation_loss": ("mean loss on the validation split", True),
    "test_loss": ("mean loss on the test split", True),
    "train_accuracy": ("accuracy on the training split", False),
    "validation_accuracy": ("accuracy on the validation split", False),
    "test_accuracy": ("accuracy on the test split", False),
    "accuracy": ("accuracy on the test split, else validation, else train", False),
    "cost": ("sample-gradient equivalents", True),
    "seconds": ("training time", True),
}
BUDGETS = ("epochs", "max_iter")


@dataclass
class Run:
    """One combination: ``combo`` its swept values, ``cfg`` train's resolved settings, ``params`` their canonical JSON."""

    combo: dict
    options: dict  # the train options of this run (shared keys + combo), as in a config file
    cfg: dict = field(default_factory=dict)
    params: str = ""


def load(spec, where: str = "the spec") -> tuple[dict, str]:
    """(spec dict, name used in messages) from a TOML path or a dict."""
    if isinstance(spec, dict):
        return spec, where
    if not isinstance(spec, (str, Path)):
        raise SpecError(f"a sweep spec is a dict or the path of a TOML file, got {type(spec).__name__}")
    path = str(spec)
    if Path(path).is_dir():
        raise SpecError(f"{path!r} is a folder; give a sweep spec (.toml), or add --show to show the results stored "
                        "in that folder")
    try:  # the encodings `mlplab train --config` reads (UTF-8 with or without a BOM, UTF-16, UTF-32)
        return tomllib.loads(read_config_text(path)), f"spec {path!r}"
    except FileNotFoundError:
        raise SpecError(f"sweep spec {path!r} does not exist; check the path") from None
    except UserError as exc:  # not decodable: the config reader's message, about the spec
        raise SpecError(str(exc).replace("config file", "sweep spec")) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"sweep spec {path!r} is not valid TOML ({exc}); fix its syntax") from None
    except OSError as exc:
        raise SpecError(f"cannot read sweep spec {path!r} ({exc.strerror})") from None


def search_options(spec: dict, where: str = "the spec") -> dict:
    """The [search] table, checked: {"metric", "sampler", "early_stop": None or {budget, min, eta}}."""
    search = spec.get("search", {})
    if not isinstance(search, dict):
        raise SpecError(f"{where}: search must be a table ([search])")
    unknown = set(search) - {"metric", "sampler", "early_stop"}
    if unknown:
        raise SpecError(f"{where}: [search] has unknown key(s) {', '.join(sorted(unknown))}; it takes metric, sampler "
                        "and early_stop")
    metric = search.get("metric", "auto")
    check_metric(metric, where)
    sampler = search.get("sampler", "random")
    if sampler not in ("random", "tpe"):
        raise SpecError(f"{where}: [search] sampler = {sampler!r}; use \"random\" (independent draws) or \"tpe\" "
                        "(Optuna's TPE)")
    if sampler == "tpe" and not spec.get("random"):
        raise SpecError(f"{where}: [search] sampler = \"tpe\" draws the [random] table's distributions; add [random] "
                        "with n = the number of trials and e.g. lr = { loguniform = [1e-3, 1] }")
    es = search.get("early_stop")
    if es is not None:
        if not isinstance(es, dict) or set(es) - {"budget", "min", "eta"}:
            raise SpecError(f"{where}: [search] early_stop must be a table like {{ budget = \"epochs\", min = 1, "
                            f"eta = 3 }}, got {es!r}")
        es = {"budget": es.get("budget", "epochs"), "min": es.get("min", 1), "eta": es.get("eta", 3)}
        if es["budget"] not in BUDGETS:
            raise SpecError(f"{where}: [search] early_stop budget = {es['budget']!r}; use \"epochs\" or \"max_iter\"")
        for k, lo in (("min", 1), ("eta", 2)):
            v = es[k]
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise SpecError(f"{where}: [search] early_stop {k} must be an integer >= {lo}, got {v!r}")
    return {"metric": metric, "sampler": sampler, "early_stop": es}


def check_metric(metric, where: str = "--metric") -> str:
    if metric not in METRICS:
        raise SpecError(f"{where}: unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


def rungs(es: dict, top) -> list[int]:
    """The budgets of successive halving: min, min·eta, min·eta², … below the spec's own budget ``top``, then ``top``."""
    if top is None:
        return []
    out, b = [], es["min"]
    while b < top:
        out.append(b)
        b *= es["eta"]
    return out + [top]


def absolute_data(value, base: Path | None):
    """A data option as every worker must read it: a relative file path made absolute against the spec's
    folder (``base``; then the current folder); built-in names and anything else unchanged."""
    if not isinstance(value, str) or not value or is_builtin(value) or Path(value).is_absolute():
        return value
    for root in ([base] if base is not None else []) + [Path.cwd()]:
        cand = root / value
        if cand.exists():
            return str(cand.resolve())
    return value


def _with_absolute_data(spec: dict, base: Path | None) -> dict:
    spec = dict(spec)
    for tname in (None, "train", "grid", "random"):
        table = spec if tname is None else spec.get(tname)
        if not isinstance(table, dict):
            continue
        table = dict(table)
        for key in ("data",):
            if key not in table:
                continue
            v = table[key]
            if tname == "grid" and isinstance(v, list):
                table[key] = [absolute_data(x, base) for x in v]
            elif tname == "random" and isinstance(v, list):
                table[key] = [absolute_data(x, base) for x in v]
            elif tname in (None, "train"):
                table[key] = absolute_data(v, base)
        if tname is None:
            spec = table
        else:
            spec[tname] = table
    return spec


@dataclass
class Expansion:
    """A spec, expanded: the runs (every rung of successive halving included), the swept keys, names for
    messages, the [search] options, and for TPE what the driver needs to make runs as Optuna asks."""

    runs: list
    swept: list
    where: str
    source: str
    search: dict
    shared: dict = field(default_factory=dict)
    grid: list = field(default_factory=list)        # the grid's combos (TPE crosses each trial with them)
    random: dict = field(default_factory=dict)      # [random] distributions (TPE)
    n: int = 0                                      # [random] n (TPE: trials)
    seed: int = 0
    rungs: list = field(default_factory=list)       # successive halving: the budgets, lowest first
    resolver: object = None
    key: str | None = None                          # spec_key() of a plain sweep (its runs can be cached)
    cached: bool = False                            # the runs were read from the store, not resolved

    def make_runs(self, combos: list[dict]) -> list[Run]:
        """Runs of combos (TPE's points × the grid, or rung variants), resolved; raises SpecError."""
        return _resolve_all(self.resolver, self.shared, combos, self.where, self.source)


def _resolve_all(resolver, shared, combos, where, source) -> list[Run]:
    runs, bad = [], {}
    for combo in combos:
        run = Run(combo=combo, options={**shared, **combo})
        try:
            run.cfg = resolver.resolve(run.options, source)
        except (UserError, DataError) as exc:
            bad.setdefault(" ".join(str(exc).split()), []).append(describe(combo))
            continue
        run.params = canonical(run.cfg)
        runs.append(run)
    if len(bad) == 1 and not runs and len(combos) > 1:  # all fail the same way: a shared option, as train says it
        raise SpecError(next(iter(bad)))
    if bad:
        n = sum(len(v) for v in bad.values())
        parts = [f"{msg} [{'; '.join(c[:20])}{'; …' if len(c) > 20 else ''}]" for msg, c in bad.items()]
        raise SpecError(f"{n} of {len(combos)} combinations in {where} are invalid for `mlplab train`, nothing was "
                        f"run: " + " | ".join(parts))
    return runs


def expand(spec, where: str | None = None) -> tuple[list[Run], list[str], str, str]:
    """(runs, swept keys, where, source) of a spec (path or dict); every run resolved and checked.

    ``where`` names the spec in the sweep's messages, ``source`` in train's (the config file's path).

    Raises SpecError listing every offending combination (grouped by message) when
    any combination is invalid for ``mlplab train``.
    """
    e = expand_spec(spec, where)
    return e.runs, e.swept, e.where, e.source


def spec_key(spec: dict) -> str:
    """A fingerprint of an expansion's inputs: the spec (data paths absolute), mlplab's version and the data
    files' size and modification time. Equal fingerprints give equal runs, so a resume reads them stored."""
    files = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and os.path.isabs(v) and os.path.isfile(v):
            st = os.stat(v)
            files.append((v, st.st_size, st.st_mtime_ns))

    walk(spec)
    text = json.dumps([spec, mlplab.__version__, files], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expand_spec(spec, where: str | None = None, cached=None) -> Expansion:
    """:func:`expand`, with the [search] options, successive halving's rungs and TPE's parts.

    ``cached(key)``: the stored [(combo, params), ...] of an earlier expansion with the fingerprint
    ``key`` (:func:`spec_key`), or None; when given, the runs are rebuilt from it without resolving
    each again (a resume of a 10,000-run sweep skips its expansion)."""
    source = str(spec) if isinstance(spec, (str, Path)) else (where or "the spec")  # train's messages name it
    base = Path(spec).resolve().parent if isinstance(spec, (str, Path)) else None
    spec, where = load(spec, where or "the spec")
    if isinstance(spec, dict):
        spec = _with_absolute_data(spec, base)
    search = search_options(spec, where) if isinstance(spec, dict) else None
    tpe = search is not None and search["sampler"] == "tpe"
    shared, combos, swept = combinations(spec, where, draw=not tpe)
    resolver = Resolver()
    resolver.shared = shared
    e = Expansion([], swept, where, source, search, shared=shared, resolver=resolver)
    plain = not tpe and not (search and search["early_stop"])
    e.key = spec_key(spec) if plain else None
    stored = cached(e.key) if plain and cached is not None else None
    if stored is not None and len(stored) == len(combos):
        e.runs = [Run(combo=c, options={**shared, **c}, cfg=json.loads(p), params=p) for c, p in stored]
        e.cached = True
        return e
    if tpe:
        rand = spec["random"]
        e.grid, e.n, e.seed = combos, rand["n"], rand.get("sampler_seed", 0)
        e.random = {k: v for k, v in rand.items() if k not in ("n", "sampler_seed")}
        # check the spec with one point (each distribution's first draw) crossed with the grid
        first = {k: draw_values(k, v, 1, np.random.default_rng(e.seed), where)[0] for k, v in e.random.items()}
        e.make_runs([{**first, **c} for c in combos])
        swept += [k for k in e.random if k not in swept]
    else:
        e.runs = e.make_runs(combos)
    es = search["early_stop"] if search else None
    if es is not None:
        b = es["budget"]
        tops = {r.cfg.get(b) for r in e.runs} if e.runs else {None}
        top = next(iter(tops)) if len(tops) == 1 else None
        if b in swept or top is None and not tpe:
            raise SpecError(f"{where}: [search] early_stop needs one {b} for every run (the top budget), given as a "
                            f"shared option, e.g. {b} = 27; it is {'swept' if b in swept else 'not set'}")
        if tpe:
            top = shared.get(b) if isinstance(shared.get(b), int) else None
            if top is None:
                raise SpecError(f"{where}: [search] early_stop needs {b} = the top budget as a shared option")
        e.rungs = rungs(es, top)
        if b not in swept:
            swept.append(b)
        e.runs = [_at_budget(r, b, top) for r in e.runs]  # the runs at the top budget; the lower rungs on demand
    seen = {}
    for run in e.runs:
        if run.params in seen:
            raise SpecError(f"{where}: the combinations {describe(seen[run.params])!r} and {describe(run.combo)!r} "
                            "resolve to the same run (a swept value equal to the default?); drop one of the values")
        seen[run.params] = run.combo
    return e


def _at_budget(run: Run, key: str, budget: int) -> Run:
    """The same run with budget ``key`` (epochs or max_iter) = budget (a rung of successive halving)."""
    cfg = dict(run.cfg)
    cfg[key] = budget
    combo = {**run.combo, key: budget}
    return Run(combo=combo, options={**run.options, key: budget}, cfg=cfg, params=canonical(cfg))
