"""Sweeps: many ``mlplab train`` runs from one spec, on this machine or a Ray cluster, resumable, in SQLite.

    import mlplab
    spec = {"data": "moons", "hidden": [8], "epochs": 30,
            "grid": {"optimizer": ["sgd", "minibatch", "adam"], "lr": [0.1, 0.01], "seed": [0, 1]}}
    runs = mlplab.sweep(spec, out="sweep-out", workers=2)   # one row per run (a pandas DataFrame)
    mlplab.sweeps.summarize(runs)                          # grouped by everything but the seed

The spec (:mod:`mlplab.sweeps.spec`) is a ``mlplab train --config`` file plus a
``[grid]`` (and optionally ``[random]``) table. Every combination is resolved
and checked by ``mlplab train``'s own code before any run starts. The driver
(:func:`run`) stores each run in ``DIR/results.sqlite`` (:mod:`mlplab.sweeps.store`)
and its model in ``DIR/models/``; it skips runs already done, so running the
same sweep again resumes it. Runs execute on a local process pool or on Ray
(:mod:`mlplab.sweeps.backends`); a worker that dies gets its run retried
twice, then the run is ``failed``; a run that diverges is a result
(``diverged``), not an error. A lost Ray head stops the sweep at once
(:class:`ClusterLost`), the runs in flight pending again with no retry spent.

Searching: ``[search] early_stop`` runs successive halving (a whole rung promoted at once) over the
configurations (:class:`Halving`), ``[search] sampler = "tpe"`` lets Optuna's TPE
propose the ``[random]`` points (:class:`TPE`); both resume from the store.
:func:`summarize` ranks the configurations by any recorded metric, counting
diverged and failed seeds against a configuration; :func:`best` writes the best
run as a ``mlplab train --config`` file.

This package is an edge of mlplab, like the CLI: ``import mlplab`` does not
import it (``mlplab.sweep`` loads it on first use).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab.sweeps.spec import SpecError, describe, expand, expand_spec

MAX_ATTEMPTS = 3  # a run whose worker dies is started at most this often (the first try + 2 retries)
BACKENDS = ("local", "ray")

__all__ = ["sweep", "run", "load_runs", "summarize", "best", "describe", "expand", "SpecError", "ClusterLost",
           "Outcome", "MAX_ATTEMPTS"]


class ClusterLost(SpecError):
    """The Ray cluster went away during the sweep; the runs in flight are pending again (a rerun finishes).
    Ray's own exit hook then waits seconds for the dead head: the command line ends the process at once."""


@dataclass
class Outcome:
    """What :func:`run` did: the sweep's run ids, how many were skipped, and the counts by final status."""

    out: Path
    ids: list[int]
    skipped: int
    counts: dict = field(default_factory=dict)
    backend: str = ""
    seconds: float = 0.0


def check_out(out) -> Path:
    """The results folder: it may exist (a sweep to resume); its parent must."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {str(out)!r} is a file; give a folder for the sweep's results")
    parent = out.parent if str(out.parent) else Path(".")
    if not out.exists() and not parent.is_dir():
        raise SpecError(f"cannot create the results folder {str(out)!r}: {str(parent)!r} does not exist; create it first")
    return out


def make_backend(backend: str = "local", workers: int | None = None, address: str | None = None):
    from mlplab.sweeps.backends import LocalPool, RayBackend

    if not isinstance(backend, str):  # a backend object (e.g. a LocalPool kept warm across sweeps)
        return backend
    if backend not in BACKENDS:
        raise SpecError(f"unknown backend {backend!r}; use 'local' (a process pool) or 'ray'")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError(f"workers must be an integer >= 1, got {workers!r}")
    if backend == "local":
        if address is not None:
            raise SpecError("--address applies to --backend ray only; drop it or add --backend ray")
        return LocalPool(workers)
    try:
        return RayBackend(address, workers)
    except RuntimeError as exc:
        raise SpecError(str(exc)) from None


def run(spec, out, *, backend: str = "local", workers: int | None = None, address: str | None = None,
        where: str | None = None, on_start=None, on_result=None) -> Outcome:
    """Run (or resume) a sweep; returns an :class:`Outcome`. The results are in ``out/results.sqlite``.

    ``backend``: "local", "ray", or a backend object (:mod:`mlplab.sweeps.backends`), which
    the sweep uses and leaves open. ``on_start(outcome, n_to_run, backend)`` is called once the runs are known,
    ``on_result(row)`` after each run is stored. Raises :class:`SpecError` (one
    line) for a spec or options that cannot run, before anything is written.

    With ``[search] early_stop`` the runs are scheduled by successive halving
    (:class:`Halving`), with ``[search] sampler = "tpe"`` by Optuna's TPE (:class:`TPE`); either
    resumes from the store like a grid.
    """
    from mlplab.sweeps import store
    from mlplab.sweeps.spec import expand_spec

    out = check_out(out)
    try:
        store.check_folder(out)
    except store.StoreError as exc:
        raise SpecError(str(exc)) from None
    e = expand_spec(spec, where, cached=lambda key: store.cached_runs(out, key))
    runs, swept, where, source = e.runs, e.swept, e.where, e.source
    n_mixed, combo, keys = store.conflicts(out, runs) if not e.cached else (0, {}, [])
    if n_mixed:
        raise SpecError(f"{str(out)!r} holds {n_mixed} run(s) with the swept values of runs of {where} but other "
                        f"settings ({', '.join(keys)} changed, e.g. for {describe(combo)!r}): the two sweeps would "
                        "share labels; give another --out for the changed spec, or sweep the changed option in [grid]")
    if runs and not e.cached:  # (a cached expansion is this folder's own sweep)
        foreign = store.other_sweep(out, runs)
        if foreign:
            raise SpecError(f"{str(out)!r} holds the results of another sweep ({foreign} runs, none of them a run of "
                            f"{where}); give another --out, or remove that folder first")
    be = make_backend(backend, workers, address)
    owned = be is not backend
    t0 = time.perf_counter()
    try:
        out.mkdir(exist_ok=True)
        try:
            held = store.lock(out)
        except BlockingIOError as exc:
            raise SpecError(f"another `mlplab sweep` (pid {exc.args[0] or '?'}) is running on {str(out)!r}; wait for "
                            "it to finish, or give another --out") from None
        (out / "models").mkdir(exist_ok=True)
        con = store.connect(out)
        try:
            budget = e.search["early_stop"]["budget"] if e.search and e.search["early_stop"] else None
            store.set_meta(con, swept=swept, spec_name=where, metric=e.search["metric"] if e.search else "auto",
                           budget=budget)
            if e.search and e.search["sampler"] == "tpe":
                sched = TPE(con, e)
            elif e.rungs:
                sched = Halving(con, e)
            else:
                sched = Plain(con, e)
                if e.key is not None and not e.cached:
                    store.set_meta(con, expansion={"key": e.key, "ids": [sched.ids_in_order[i] for i in
                                                                           range(len(e.runs))]})
            outcome = Outcome(out, sched.ids(), sched.skipped, backend=be.describe())
            if on_start is not None:
                on_start(outcome, sched.n_todo, be)
            _drive(con, be, out, sched, source, on_result, e.resolver)
            outcome.ids = sched.ids()
            final = store.status_of(con, outcome.ids) if outcome.ids else {}
            outcome.counts = {s: sum(v == s for v in final.values()) for s in sorted(set(final.values()))}
        finally:
            con.close()
            held.close()
    finally:
        if owned:
            be.close()
    outcome.seconds = time.perf_counter() - t0
    return outcome


class Plain:
    """Every run of the spec, in its order (a grid, or independent random draws)."""

    def __init__(self, con, e):
        from mlplab.sweeps import store

        self.con, self.e = con, e
        ids = store.add_runs(con, e.runs)
        self.by_id = {ids[r.params]: r for r in e.runs}
        self.ids_in_order = [ids[r.params] for r in e.runs]
        status = store.status_of(con, self.by_id)
        self.queue = deque(rid for rid in self.by_id if status[rid] not in ("done", "diverged"))
        self.n_todo = len(self.queue)
        self.skipped = len(self.by_id) - self.n_todo

    def ids(self) -> list[int]:
        return sorted(self.by_id)

    def next(self):
        """The next run to start (id), or None: nothing to start until a result comes."""
        return self.queue.popleft() if self.queue else None

    def again(self, rid: int) -> None:
        """A run whose worker died: first in line."""
        self.queue.appendleft(rid)

    def result(self, rid: int, row: dict) -> None:
        """A run finished (done, diverged or failed)."""


def score(row: dict, metric: str) -> float:
    """A stored run's ranking value, lower is better (an accuracy negated); +inf when it did not finish."""
    import math

    from mlplab.sweeps.results import _split_values
    from mlplab.sweeps.spec import METRICS

    if row.get("status") != "done":
        return math.inf
    m = row.get("metrics")
    if isinstance(m, str):
        import json

        m = json.loads(m)
    split = dict(zip(("train_loss", "validation_loss", "test_loss", "train_accuracy", "validation_accuracy",
                      "test_accuracy"), _split_values(m)))
    if metric == "auto":
        v = split["validation_loss"] if split["validation_loss"] is not None else (
            split["test_loss"] if split["test_loss"] is not None else row.get("final_loss"))
    else:
        v = {"E": row.get("final_loss"), "grad_norm": row.get("grad_norm"), "accuracy": row.get("accuracy"),
             "cost": row.get("cost"), "seconds": row.get("seconds"), **split}.get(metric)
    if v is None or not math.isfinite(v):
        return math.inf
    return float(v) if METRICS[metric][1] else -float(v)


class Halving(Plain):
    """Successive halving (Jamieson & Talwalkar 2016; the rungs of ASHA, Li et al. 2020) over the spec's
    configurations.

    Every configuration (the runs of one setting but the seed) is trained with the lowest budget; once
    a rung has finished, the best max(1, n // eta) of its n configurations by the sweep's metric go
    on with eta times the budget (all their seeds, each a run of its own), up to the spec's budget. A
    rung is promoted as a whole, so which configurations go on does not depend on the order results
    arrive in: the same on the local pool and on Ray. A configuration whose seed diverged or failed
    scores +inf and is never promoted; one whose runs all converged (‖∇E‖ ≤ tol before the budget ran
    out) is not promoted either — a larger budget gives the same run. Everything is read from and
    written to the store, so a rerun resumes where the sweep stopped.
    """

    def __init__(self, con, e):
        from mlplab.sweeps import store
        from mlplab.sweeps.results import _group_key
        from mlplab.sweeps.spec import _at_budget

        self.con, self.e = con, e
        self.metric = e.search["metric"]
        self.eta = e.search["early_stop"]["eta"]
        self.key = e.search["early_stop"]["budget"]
        self.rungs = e.rungs
        groups: dict[str, list] = {}
        for r in e.runs:
            groups.setdefault(_group_key(r.params), []).append(r)
        self.configs = list(groups.values())  # each: the runs (seeds) of a configuration, at the top budget
        self.variants = [[[_at_budget(r, self.key, b) for r in runs] for b in self.rungs] for runs in self.configs]
        self.by_id: dict[int, object] = {}
        self.rid_of: dict[tuple, list[int]] = {}  # (config, rung) -> run ids, once the rung is started
        self.queue = deque()
        stored = {p for (p,) in con.execute("SELECT params FROM runs")}
        for c, rungs in enumerate(self.variants):
            for i, runs in enumerate(rungs):
                if i == 0 or any(r.params in stored for r in runs):  # rung 0 for all; promotions made before
                    self._start(c, i, queue=False)
        status = store.status_of(con, self.by_id) if self.by_id else {}
        self.queue.extend(rid for rid in self.by_id if status[rid] not in ("done", "diverged"))
        self.skipped = len(self.by_id) - len(self.queue)
        self.n_todo = len(self.queue)

    def _start(self, c: int, i: int, queue: bool = True) -> None:
        from mlplab.sweeps import store

        runs = self.variants[c][i]
        ids = store.add_runs(self.con, runs)
        self.rid_of[(c, i)] = [ids[r.params] for r in runs]
        for r in runs:
            self.by_id[ids[r.params]] = r
        if queue:
            self.queue.extend(self.rid_of[(c, i)])

    def _rung(self, i: int):
        """({config: (mean score, converged)} of rung i's finished configurations, how many it started)."""
        from mlplab.sweeps import store

        ids = {c: rids for (c, j), rids in self.rid_of.items() if j == i}
        flat = [rid for rids in ids.values() for rid in rids]
        rows = {r["id"]: r for r in store.rows(self.con, flat, history=False, params=False)} if flat else {}
        out = {}
        for c, rids in ids.items():
            rs = [rows[rid] for rid in rids]
            if any(r["status"] in ("pending", "running") for r in rs):
                continue
            vals = [score(r, self.metric) for r in rs]
            out[c] = (sum(vals) / len(vals), all(r.get("stop_reason") == "converged" for r in rs))
        return out, len(ids)

    def next(self):
        """The next run; when the queue is empty, the lowest finished rung not yet promoted is promoted."""
        if self.queue:
            return self.queue.popleft()
        for i in range(len(self.rungs) - 1):
            finished, started = self._rung(i)
            if len(finished) < started:
                return None  # the rung is still running
            k = max(1, started // self.eta)
            best = sorted(finished, key=lambda c: (finished[c][0], c))[:k]
            missing = [c for c in best if finished[c][0] != float("inf") and not finished[c][1]
                       and (c, i + 1) not in self.rid_of]
            if missing:  # (also a promotion that a killed driver had begun)
                for c in missing:
                    self._start(c, i + 1)
                break
        return self.queue.popleft() if self.queue else None


class TPE(Plain):
    """Optuna's TPE sampler proposing the [random] keys' values, n trials, each crossed with the [grid]
    (e.g. the seeds); a trial's value is the mean of the metric over its runs (+inf when a run diverged
    or failed). The study is rebuilt from the store on every start, so a rerun continues it: finished
    trials are told to Optuna, unfinished ones run again, new ones are asked until n."""

    def __init__(self, con, e):
        try:
            import optuna
        except ImportError:
            raise SpecError('[search] sampler = "tpe" needs Optuna, which is not installed; install it with: '
                            'pip install "mlplab[tune]"') from None
        import json

        from mlplab.sweeps import store

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna, self.con, self.e, self.json = optuna, con, e, json
        self.metric = e.search["metric"]
        self.dists, self.values = {}, {}
        for k, d in e.random.items():
            self.dists[k], self.values[k] = _optuna_distribution(optuna, k, d)
        self.study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(
            seed=e.seed, constant_liar=True, n_startup_trials=min(10, max(1, e.n // 4))))
        self.by_id, self.trials, self.queue = {}, [], deque()
        grid_keys = {json.dumps(g, sort_keys=True) for g in e.grid}
        points: dict[str, list] = {}
        for rid, combo, status in con.execute("SELECT id, combo, status FROM runs ORDER BY id"):
            c = json.loads(combo)
            point = {k: c[k] for k in self.dists if k in c}
            rest = {k: v for k, v in c.items() if k not in self.dists}
            if len(point) == len(self.dists) and json.dumps(rest, sort_keys=True) in grid_keys:
                points.setdefault(json.dumps(point, sort_keys=True), []).append(rid)
        for pkey in list(points)[:e.n]:
            point = json.loads(pkey)
            runs = e.make_runs([{**point, **g} for g in e.grid])
            ids = store.add_runs(con, runs)
            rids = [ids[r.params] for r in runs]
            for r in runs:
                self.by_id[ids[r.params]] = r
            status = store.status_of(con, rids)
            todo = [rid for rid in rids if status[rid] not in ("done", "diverged")]
            trial = {"point": point, "ids": rids, "optuna": None}
            self.trials.append(trial)
            if todo:
                self.queue.extend(todo)
                trial["optuna"] = self._enqueue(point)
            else:
                self._tell_frozen(trial)
        self.skipped = len(self.by_id) - len(self.queue)
        self.n_todo = len(self.queue) + (e.n - len(self.trials)) * len(e.grid)

    def _internal(self, k, v):
        return self.values[k].index(self.json.dumps(v, sort_keys=True)) if self.values.get(k) is not None else v

    def _external(self, k, v):
        return self.json.loads(self.values[k][v]) if self.values.get(k) is not None else v

    def _enqueue(self, point):
        """A running Optuna trial for a stored point (resumed): asked with these values fixed."""
        self.study.enqueue_trial({k: self._internal(k, v) for k, v in point.items()})
        t = self.study.ask(self.dists)
        return t

    def _value(self, trial) -> float:
        from mlplab.sweeps import store

        rows = store.rows(self.con, trial["ids"], history=False, params=False)
        vals = [score(r, self.metric) for r in rows]
        return sum(vals) / len(vals)

    def _tell_frozen(self, trial):
        value = self._value(trial)
        dist = {k: self.dists[k] for k in trial["point"]}
        params = {k: self._internal(k, v) for k, v in trial["point"].items()}
        self.study.add_trial(self.optuna.trial.create_trial(
            params=params, distributions=dist, value=value if value != float("inf") else None,
            state=self.optuna.trial.TrialState.COMPLETE if value != float("inf") else
            self.optuna.trial.TrialState.FAIL))

    def ids(self) -> list[int]:
        return sorted(self.by_id)

    def next(self):
        from mlplab.sweeps import store

        if self.queue:
            return self.queue.popleft()
        if len(self.trials) >= self.e.n:
            return None
        t = self.study.ask(self.dists)
        point = {k: self._external(k, t.params[k]) for k in self.dists}
        runs = self.e.make_runs([{**point, **g} for g in self.e.grid])
        ids = store.add_runs(self.con, runs)
        rids = [ids[r.params] for r in runs]
        for r in runs:
            self.by_id[ids[r.params]] = r
        self.trials.append({"point": point, "ids": rids, "optuna": t})
        status = store.status_of(self.con, rids)
        self.queue.extend(rid for rid in rids if status[rid] not in ("done", "diverged"))
        if not self.queue:  # a point drawn before (the same values): its runs are stored already
            self._finish(self.trials[-1])
            return self.next()
        return self.queue.popleft()

    def _finish(self, trial):
        value = self._value(trial)
        if value == float("inf"):
            self.study.tell(trial["optuna"], state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial["optuna"], value)
        trial["optuna"] = None

    def result(self, rid: int, row: dict) -> None:
        from mlplab.sweeps import store

        for trial in self.trials:
            if rid in trial["ids"] and trial["optuna"] is not None:
                st = store.status_of(self.con, trial["ids"])
                if all(v in ("done", "diverged", "failed") for v in st.values()):
                    self._finish(trial)
                return


def _optuna_distribution(optuna, key, dist):
    """(Optuna distribution, JSON of each choice or None) of a [random] distribution (spec.py's forms)."""
    import json

    if isinstance(dist, list):
        dist = {"choice": dist}
    if "dist" in dist:
        rest = {k: v for k, v in dist.items() if k != "dist"}
        dist = {"choice": rest["values"]} if dist["dist"] == "choice" else {dist["dist"]: [rest["low"], rest["high"]]}
    (kind, arg), = dist.items()
    D = optuna.distributions
    if kind == "choice":
        values = [json.dumps(v, sort_keys=True) for v in arg]
        return D.CategoricalDistribution(list(range(len(arg)))), values
    lo, hi = arg
    if kind == "randint":
        return D.IntDistribution(int(lo), int(hi)), None
    return D.FloatDistribution(float(lo), float(hi), log=kind == "loguniform"), None


def _drive(con, be, out: Path, sched, where: str, on_result, resolver=None) -> None:
    """Keep the backend busy with the scheduler's runs; store each result as it comes (one transaction each)."""
    from mlplab.sweeps import store

    attempts: dict[int, int] = {}
    inflight: dict[int, dict] = {}
    if sched.n_todo and hasattr(be, "start"):
        be.start(sched.n_todo)  # the workers (never more than runs), before any run is marked running
    try:
        while True:
            while len(inflight) < be.capacity:
                rid = sched.next()
                if rid is None:
                    break
                attempts[rid] = attempts.get(rid, 0) + 1
                r = sched.by_id[rid]
                task = {"id": rid, "attempt": attempts[rid], "cfg": r.cfg, "options": r.options, "where": where,
                        "model": str(out / "models" / f"run-{rid:04d}.safetensors"),
                        "return_model": be.name != "local"}
                if be.name != "local" and resolver is not None:  # the data travel with the task
                    task["table"] = resolver.table(resolver.args(r.options, where))
                inflight[rid] = task  # first: a Ctrl-C from here on puts the run back to pending
                store.mark_running(con, rid, attempts[rid], be.name)
                be.submit(task)
            if not inflight:
                break
            for kind, task, payload in be.wait(timeout=1.0):
                rid = task["id"]
                inflight.pop(rid, None)
                if kind == "ok":
                    payload = dict(payload)
                    data = payload.pop("model_bytes", None)
                    if data is not None:  # from a Ray worker
                        from mlplab.io import atomic_write

                        atomic_write(task["model"], data)
                        payload["model"] = task["model"]
                    if payload.get("model"):
                        payload["model"] = str(Path(payload["model"]).relative_to(out))
                    store.record(con, rid, payload)
                elif kind == "error":
                    store.fail(con, rid, payload)
                elif attempts[rid] < MAX_ATTEMPTS:  # died: again, first in line
                    store.mark_pending(con, [rid])
                    sched.again(rid)
                    continue
                else:
                    store.fail(con, rid, f"{payload}; gave up after {attempts[rid]} attempts (rerun the sweep to "
                                         "try again)")
                row = store.rows(con, [rid], history=False)[0]
                sched.result(rid, row)
                if on_result is not None:
                    on_result(row)
    except BaseException as exc:  # Ctrl-C, a lost cluster (or a bug): the runs in flight go back to pending
        from mlplab.sweeps.backends import HeadLost

        store.mark_pending(con, list(inflight), unspent=isinstance(exc, HeadLost))
        if isinstance(exc, HeadLost):
            raise ClusterLost(str(exc)) from None
        raise


def load_runs(out, ids=None, history: bool = True):
    """The runs stored in ``out/results.sqlite`` as a pandas DataFrame, one row per run (see :func:`sweep`).

    ``history=False``: without the histories (a finished run's is read from its model file), which is
    what tables and rankings need — 10,000 runs load in well under a second."""
    from mlplab.sweeps import results, store

    out = Path(out)
    if (out / store.FILE).exists() and not (out / store.FILE).is_file():
        raise SpecError(f"{str(out)!r}: {store.FILE!r} is a folder or not a regular file; it holds no sweep's "
                        "results — remove or rename it")
    if not (out / store.FILE).is_file():
        raise SpecError(f"{str(out)!r} holds no sweep results ({store.FILE}); run `mlplab sweep SPEC.toml --out "
                        f"{out}` first")
    try:
        store.check_store(out)
    except store.StoreError as exc:
        raise SpecError(str(exc)) from None
    con = store.connect(out, create=False)
    try:
        rows = store.rows(con, ids, history=False, params=False)
        if history:
            hist = store.histories(con, out, [r["id"] for r in rows])
            for r in rows:
                r["history"] = hist.get(r["id"])
        meta = store.get_meta(con)
    finally:
        con.close()
    df = results.runs_frame(rows, meta.get("swept"))
    df.attrs.update(metric=meta.get("metric", "auto"), budget=meta.get("budget"))
    return df


def summarize(runs, metric: str | None = None):
    """The runs grouped by everything but the seed, ranked (rank 1 the best): mean and std of E, ‖∇E‖,
    accuracy, cost, time and the ranking metric (default: the sweep's [search] metric, else "auto")."""
    from mlplab.sweeps import results

    return results.summarize(runs, metric or runs.attrs.get("metric") or "auto")


def best(out, metric: str | None = None, config=None):
    """The best configuration's best run (by the metric, divergence-aware) as ``mlplab train --config``
    options; writes them to ``config`` (a TOML path) when given. Returns (options dict, runs row)."""
    import json

    from mlplab.sweeps import results

    runs = load_runs(out, history=False)
    summary = summarize(runs, metric)
    if not len(summary) or not summary["best"].any():
        raise SpecError(f"{str(out)!r} holds no finished run to rank; run the sweep first")
    order = results.ranked(summary)
    label = order.iloc[0]["config"]
    groups = results.group_keys(runs).to_numpy()
    cfg_keys = list(dict.fromkeys(groups))  # the summary's rows are the configurations in this order
    mine = runs[groups == cfg_keys[int(order.index[0])]]
    values, _, lower = results.metric_values(mine, summary.attrs.get("metric", "auto") if metric is None
                                             else metric)
    values = np.where(mine["status"].to_numpy() == "done", values, np.nan)
    if not np.isfinite(values).any():
        i = 0
    else:
        i = int(np.nanargmin(values) if lower else np.nanargmax(values))
    row = mine.iloc[i]
    params = json.loads(row["params"])
    options = train_options(params)
    if config is not None:
        from mlplab.io import atomic_write

        atomic_write(config, to_toml(options, f"best of {out} ({label}; run {int(row['id'])})").encode("utf-8"))
    return options, row


def train_options(cfg: dict) -> dict:
    """``mlplab train --config`` options that resolve to the settings ``cfg`` (a run's params): every
    setting that is a train option, the architecture as ``layers``; derived settings (classes) left out."""
    from mlplab.sweeps.spec import Resolver

    flags = Resolver().train_flags()
    opts = {}
    for k, v in cfg.items():
        if k == "layer_sizes":
            opts["layers"] = list(v)
        elif k.replace("_", "-") in flags and v is not None:
            opts[k] = v
    return opts


def to_toml(options: dict, comment: str = "") -> str:
    """A flat TOML table of scalars and lists (what a `mlplab train --config` file holds)."""
    import json

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        raise ValueError(f"cannot write {v!r} to TOML")

    lines = [f"# {comment}"] if comment else []
    lines += [f"{k} = {value(v)}" for k, v in options.items()]
    return "\n".join(lines) + "\n"


def sweep(spec, out, *, backend: str = "local", workers: int | None = None, address: str | None = None,
          report=None):
    """Run (or resume) a sweep and return its runs as a pandas DataFrame, one row per run.

    Args:
        spec: a dict (the TOML spec's content: shared ``mlplab train`` options and
            a ``"grid"`` dict of lists, optionally ``"random"``) or the path of a TOML spec.
        out: the results folder (``results.sqlite``, ``models/``); created if missing,
            resumed if it holds the same sweep (done runs are not run again).
        backend: ``"local"`` (a process pool) or ``"ray"``.
        workers: processes (local) or concurrent Ray tasks; default: the number of cores.
        address: the Ray cluster (``"auto"``, ``"ray://host:10001"``); default: a local Ray
            started for the sweep (or the one already initialised in this process).
        report: optional path of an HTML report (needs plotly).

    Returns:
        DataFrame with columns id, the swept keys, status, final_loss, grad_norm,
        accuracy, cost, forward_evals, grad_equivalents, n_iter, stop_reason,
        seconds, attempts, error, model, params (canonical JSON), history (a dict of
        lists: k, epoch, loss, grad_norm, cost, …); ``df.attrs["swept"]`` lists the
        swept keys. :func:`summarize` groups it by everything but the seed.

    Raises:
        SpecError (a ValueError): the spec, a combination or an option cannot run;
        raised before any run starts or anything is written.
    """
    outcome = run(spec, out, backend=backend, workers=workers, address=address,
                  where=None if not isinstance(spec, dict) else "the spec")
    runs = load_runs(outcome.out, outcome.ids)
    if report is not None:
        from mlplab.sweeps.report import write_report

        write_report(report, runs)
    return runs
