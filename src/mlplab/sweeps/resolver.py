"""Each run's options → ``train``'s settings, exactly as ``mlplab train --config`` resolves them, fast.

The options are parsed by ``train``'s own parser (:func:`mlplab.config.command_parser`) after the
config reader turned them into flags (:func:`mlplab.config.config_tokens`), resolved by
:func:`mlplab.config.resolve` and checked as :func:`mlplab.config.prepare_run` checks them, so a
combination that ``mlplab train`` would refuse is refused with the same message.
"""

from __future__ import annotations

import argparse

import numpy as np

import mlplab
from mlplab import data as D
from mlplab._checks import check_real
from mlplab.config import (UserError, build_net, build_optimizer, command_parser, config_tokens, load_data,
                           options_of, resolve, targets)

# the settings that the targets / the network and the loss depend on (memo keys)
NET_KEYS = ("layer_sizes", "activation", "output_activation", "bias", "init", "dtype", "loss", "reduction")
TARGET_KEYS = ("task", "classes", "loss", "output_activation", "target")


class Resolver:
    """Resolves runs as ``mlplab train --config`` does: config keys → flags → ``train``'s settings (one parser,
    data cached).

    :meth:`resolve` gives exactly :func:`mlplab.config.resolve`'s settings and the checks of
    :func:`mlplab.config.prepare_run`, with what a check depends on memoised: options that differ
    only in the seed share one parse (the seed enters the settings as ``cfg["seed"]`` alone), the
    targets, the network and the loss are checked once per distinct (architecture, loss), the split
    once per (split, seed), and the optimizer for every run (cheap). A 10,000-run spec resolves in
    about a second instead of a minute.
    """

    def __init__(self):
        self.train = command_parser("train")
        self._tables = {}
        self._parsed = {}   # options without the seed -> (cfg, table key) or the UserError raised
        self._seeds = {}    # seed value -> None (fine) or the error
        self._targets = {}
        self._nets = {}
        self._splits = {}
        self.calls = {"parse": 0, "prepare": 0}  # counted for the complexity tests

    def args(self, options: dict, where: str):
        """The parsed ``mlplab train`` arguments of one run's options (raises :class:`mlplab.config.UserError`)."""
        tokens, positional = config_tokens(where, "train", cfg=dict(options))
        self.train.set_defaults(**{"data": None, **positional})
        self.calls["parse"] += 1
        return self.train.parse_args(tokens)

    def train_flags(self) -> set:
        """The names of ``mlplab train``'s options (flags without dashes, and positionals)."""
        return set(options_of("train"))

    def table(self, args):
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
        shared = self.shared
        if shared is None or any(k in options and options[k] != v for k, v in shared.items()) \
                or not all(k in options for k in shared):
            return None
        combo = {k: v for k, v in options.items() if k not in shared}
        if self._simple is None:  # the options that take one value, parsed by their type alone
            self._simple = {name: o for name, o in options_of("train").items() if o.kind == "value"}
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
                option = self._simple[flag[2:]]
                if option.nargs is not None or text.startswith("-"):
                    raise ValueError(flag)
                value = option.type(text) if callable(option.type) else text
                if option.choices is not None and value not in option.choices:
                    raise ValueError(flag)
                setattr(ns, option.dest, value)
            return ns
        except Exception:  # noqa: BLE001 - argparse itself, for its own message
            self.train.set_defaults(data=base.data)
            return self.train.parse_args(tokens, namespace=argparse.Namespace(**vars(base)))

    shared = None
    _shared_args = None
    _simple = None

    def _parse(self, options: dict, where: str):
        args = self._fast_args(options, where) or self.args(options, where)
        table = self.table(args)
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
        """:func:`mlplab.config.prepare_run`'s checks, memoised by what each depends on."""
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
