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

Every combination goes through the CLI's own config reader and ``train``'s
resolution (:func:`mlplab.cli.common.resolve` and the engine's constructors),
so a combination that ``mlplab train`` would refuse is refused here with the
same message — all of them before any run starts.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

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


class SpecError(ValueError):
    """The spec cannot be run as written; the message (one line) says what is wrong and how to fix it."""


@dataclass
class Run:
    """One combination: ``combo`` its swept values, ``cfg`` train's resolved settings, ``params`` their canonical JSON."""

    combo: dict
    options: dict  # the train options of this run (shared keys + combo), as in a config file
    cfg: dict = field(default_factory=dict)
    params: str = ""


def canonical(obj) -> str:
    """Canonical JSON: sorted keys, no spaces, floats by repr (exact round trip)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def load(spec, where: str = "the spec") -> tuple[dict, str]:
    """(spec dict, name used in messages) from a TOML path or a dict."""
    import tomllib

    if isinstance(spec, dict):
        return spec, where
    if not isinstance(spec, (str, Path)):
        raise SpecError(f"a sweep spec is a dict or the path of a TOML file, got {type(spec).__name__}")
    path = str(spec)
    if Path(path).is_dir():
        raise SpecError(f"{path!r} is a folder; give a sweep spec (.toml), or add --show to show the results stored "
                        "in that folder")
    from mlplab.cli import UserError, read_config_text

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


def _flag(key: str) -> str:
    return key.replace("_", "-")


def _draw(name: str, dist, n: int, rng: np.random.Generator, where: str) -> list:
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
                draws[key] = _draw(key, rand[key], n, rng, where)
                swept.append(key)
            else:  # TPE: checked here, drawn by Optuna
                _draw(key, rand[key], 1, np.random.default_rng(0), where)
    points = [dict(zip(draws, vals)) for vals in zip(*draws.values())] if draws else [{}]
    combos = [{**p, **dict(zip(grid, vals))} for p in points for vals in itertools.product(*grid.values())]
    return shared, combos, swept


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


def absolute_data(value, base: Path | None):
    """A data option as every worker must read it: a relative file path made absolute against the spec's
    folder (``base``; then the current folder); built-in names and anything else unchanged."""
    from mlplab.cli.common import is_builtin

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


NET_KEYS = ("layer_sizes", "activation", "output_activation", "bias", "init", "dtype", "loss", "reduction")


TARGET_KEYS = ("task", "classes", "loss", "output_activation", "target")


class Resolver:
    """Resolves runs through the CLI: config keys → flags → ``train``'s settings (one parser, data cached).

    :meth:`resolve` gives exactly :func:`mlplab.cli.common.resolve`'s settings and the checks of
    :func:`mlplab.cli.common.prepare_run`, with what a check depends on memoised: options that differ
    only in the seed share one parse (the seed enters the settings as ``cfg["seed"]`` alone), the
    targets, the network and the loss are checked once per distinct (architecture, loss), the split
    once per (split, seed), and the optimizer for every run (cheap). A 10,000-run spec resolves in
    about a second instead of a minute.
    """

    def __init__(self):
        from mlplab.cli import _subparsers, build_parser

        self.parser = build_parser()
        self.subparsers = _subparsers(self.parser)
        self.train = self.subparsers["train"]
        self._tables = {}
        self._parsed = {}   # options without the seed -> (cfg, table key) or the UserError raised
        self._seeds = {}    # seed value -> None (fine) or the error
        self._targets = {}
        self._nets = {}
        self._splits = {}
        self.calls = {"parse": 0, "prepare": 0}  # counted for the complexity tests

    def args(self, options: dict, where: str):
        """The parsed ``mlplab train`` arguments of one run's options (raises the CLI's UserError)."""
        from mlplab.cli import _config_tokens

        tokens, positional = _config_tokens(where, "train", self._parsers_for(options), cfg=dict(options))
        self.train.set_defaults(**{"data": None, **positional})
        self.calls["parse"] += 1
        return self.parser.parse_args(["train", *tokens])

    def train_flags(self) -> set:
        """The names of ``mlplab train``'s options (flags without dashes, and positionals)."""
        if not hasattr(self, "_train_flags"):
            self._train_flags = {s[2:] for a in self.train._actions for s in a.option_strings if s.startswith("--")}
            self._train_flags |= {a.dest for a in self.train._actions if not a.option_strings}
        return self._train_flags

    def _parsers_for(self, options: dict) -> dict:
        """The subparsers _config_tokens needs: train's alone when every key is a train option (the others
        only decide whether an unknown key is another subcommand's option, to be skipped)."""
        self.train_flags()
        keys = [k for k, v in options.items() if not isinstance(v, dict)]
        keys += [k for k, v in options.items() if isinstance(v, dict) for k in v]
        if all(k.replace("_", "-") in self._train_flags for k in keys) and all(
                k == "train" for k, v in options.items() if isinstance(v, dict)):
            return {"train": self.train}
        return self.subparsers

    def table(self, args):
        from mlplab.cli.common import load_data

        key = (args.data, args.target, args.n_samples, args.noise)
        if key not in self._tables:
            self._tables[key] = load_data(args)
        return self._tables[key]

    def _memo(self, cache: dict, key, fn):
        if key not in cache:
            try:
                cache[key] = (fn(), None)
            except Exception as exc:  # noqa: BLE001 - re-raised for every run with this key
                cache[key] = (None, exc)
        value, exc = cache[key]
        if exc is not None:
            raise exc
        return value

    def _fast_args(self, options: dict, where: str):
        """The arguments of options = the shared options (parsed once) + a few simple swept flags parsed onto a
        copy of them; None where that shortcut does not apply (then :meth:`args` parses everything)."""
        import argparse

        shared = self.shared
        if shared is None or any(k in options and options[k] != v for k, v in shared.items()) \
                or not all(k in options for k in shared):
            return None
        combo = {k: v for k, v in options.items() if k not in shared}
        if not hasattr(self, "_simple"):
            exclusive = {id(a) for g in self.train._mutually_exclusive_groups for a in g._group_actions}
            self._simple = {s[2:]: a for a in self.train._actions for s in a.option_strings
                            if s.startswith("--") and type(a) is argparse._StoreAction and id(a) not in exclusive}
        tokens = []
        for k, v in combo.items():
            flag = k.replace("_", "-")
            if flag not in self._simple or isinstance(v, (bool, dict)) or not isinstance(v, (int, float, str, list)):
                return None
            if isinstance(v, list):
                if any(isinstance(x, (bool, dict, list)) for x in v):
                    return None
                v = ",".join(str(x) for x in v)
            tokens += [f"--{flag}", str(v)]
        if self._shared_args is None:
            self._shared_args = self.args(shared, where)
        base = self._shared_args
        self.calls["parse"] += 1
        ns = argparse.Namespace(**vars(base))
        try:  # what argparse does for a plain store action: type(), then the choices
            for flag, text in zip(tokens[::2], tokens[1::2]):
                action = self._simple[flag[2:]]
                if action.nargs is not None or text.startswith("-"):
                    raise ValueError(flag)
                value = action.type(text) if callable(action.type) else text
                if action.choices is not None and value not in action.choices:
                    raise ValueError(flag)
                setattr(ns, action.dest, value)
            return ns
        except Exception:  # noqa: BLE001 - argparse itself, for its own message
            self.train.set_defaults(data=base.data)
            return self.train.parse_args(tokens, namespace=argparse.Namespace(**vars(base)))

    shared = None
    _shared_args = None

    def _parse(self, options: dict, where: str):
        args = self._fast_args(options, where) or self.args(options, where)
        table = self.table(args)
        from mlplab.cli.common import resolve

        return resolve(args, table), (args.data, args.target, args.n_samples, args.noise)

    def resolve(self, options: dict, where: str) -> dict:
        """train's resolved settings for one run; the same checks (and messages) as `mlplab train`."""
        has_seed = "seed" in options
        skey = repr(options.get("seed"))  # repr: exact for floats, 1 / 1.0 / True apart (a memo key only)
        shared = self.shared or {}
        key = repr([(k, v) for k, v in options.items()  # the shared options are the same in every run
                    if k != "seed" and not (k in shared and shared[k] is v)])
        if key not in self._parsed or (has_seed and skey not in self._seeds):
            try:
                cfg, tkey = self._parse(options, where)
            except Exception as exc:
                if key in self._parsed:  # the same options parsed with another seed: this seed is the fault
                    self._seeds[skey] = exc
                raise
            if has_seed:
                self._seeds[skey] = None
            self._parsed.setdefault(key, ({k: v for k, v in cfg.items() if k != "seed"}, tkey))
        else:
            if has_seed and self._seeds[skey] is not None:
                raise self._seeds[skey]
            base, tkey = self._parsed[key]
            cfg = {**base, "seed": 0 if options.get("seed") is None else options["seed"]}
        self.check(cfg, self._tables[tkey], tkey)
        return cfg

    def check(self, cfg: dict, table, tkey) -> None:
        """:func:`mlplab.cli.common.prepare_run`'s checks, memoised by what each depends on."""
        import numpy as np

        import mlplab
        from mlplab import data as D
        from mlplab._checks import check_real
        from mlplab.cli import UserError
        from mlplab.cli.common import build_net, build_optimizer, targets

        y_all = self._memo(self._targets, (tkey, repr([cfg[k] for k in TARGET_KEYS])),
                           lambda: targets(table, cfg))

        def split():
            tr, _, _ = D.split_indices(len(table.X), cfg["val_split"], cfg["test_split"], cfg["seed"])
            if cfg["task"] == "classification" and len(np.unique(y_all[tr])) < 2:
                raise UserError("the training split holds a single class; use a smaller --val-split/--test-split or "
                                "another --seed")
            return tr[:1]

        first = self._memo(self._splits, (tkey, cfg["task"], cfg["val_split"], cfg["test_split"], cfg["seed"]), split)

        def net():
            self.calls["prepare"] += 1
            try:
                n = build_net(cfg)
                mlplab.Problem(n, table.X[first], y_all[first], cfg["loss"], l2=0.0, reduction=cfg["reduction"])
            except ValueError as exc:
                raise UserError(str(exc)) from None

        self._memo(self._nets, (tkey, repr([cfg[k] for k in NET_KEYS])), net)
        try:
            check_real("l2", cfg["l2"], low=0.0)  # the Problem's own check of λ, the rest of it checked above
            build_optimizer(cfg)
        except ValueError as exc:
            raise UserError(str(exc)) from None


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
    from mlplab.cli import UserError
    from mlplab.data import DataError

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
    import hashlib
    import os

    import mlplab

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
        first = {k: _draw(k, v, 1, np.random.default_rng(e.seed), where)[0] for k, v in e.random.items()}
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
