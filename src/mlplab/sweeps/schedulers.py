"""Which run goes next: every run in order, successive halving over the configurations, or Optuna's TPE.

A scheduler is built from the store's connection and the spec's expansion
(:class:`mlplab.sweeps.spec.Expansion`); the driver (:func:`mlplab.sweeps.run`) asks it
``next()`` (a run id, or None: wait for a result), hands back a run whose worker died
(``again``) and tells it each stored result (``result``). ``by_id`` maps run ids to runs,
``n_todo`` and ``skipped`` count the runs to start and those already done. Every scheduler
reads its state from the store, so a rerun resumes where a sweep stopped.
"""

from __future__ import annotations

import json
import math
from collections import deque

from mlplab.sweeps import store
from mlplab.sweeps.spec import METRICS, SpecError, _at_budget


class Plain:
    """Every run of the spec, in its order (a grid, or independent random draws)."""

    def __init__(self, con, e):
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
    from mlplab.sweeps.results import SPLIT_COLUMNS, _split_values  # pandas: not in the workers, nor before a table

    if row.get("status") != "done":
        return math.inf
    m = row.get("metrics")
    if isinstance(m, str):
        m = json.loads(m)
    split = dict(zip(SPLIT_COLUMNS, _split_values(m)))
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
        from mlplab.sweeps.results import _group_key  # pandas: see score

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
        runs = self.variants[c][i]
        ids = store.add_runs(self.con, runs)
        self.rid_of[(c, i)] = [ids[r.params] for r in runs]
        for r in runs:
            self.by_id[ids[r.params]] = r
        if queue:
            self.queue.extend(self.rid_of[(c, i)])

    def _rung(self, i: int):
        """({config: (mean score, converged)} of rung i's finished configurations, how many it started)."""
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
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.optuna, self.con, self.e = optuna, con, e
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
        return self.values[k].index(json.dumps(v, sort_keys=True)) if self.values.get(k) is not None else v

    def _external(self, k, v):
        return json.loads(self.values[k][v]) if self.values.get(k) is not None else v

    def _enqueue(self, point):
        """A running Optuna trial for a stored point (resumed): asked with these values fixed."""
        self.study.enqueue_trial({k: self._internal(k, v) for k, v in point.items()})
        t = self.study.ask(self.dists)
        return t

    def _value(self, trial) -> float:
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
        for trial in self.trials:
            if rid in trial["ids"] and trial["optuna"] is not None:
                st = store.status_of(self.con, trial["ids"])
                if all(v in ("done", "diverged", "failed") for v in st.values()):
                    self._finish(trial)
                return


def _optuna_distribution(optuna, key, dist):
    """(Optuna distribution, JSON of each choice or None) of a [random] distribution (spec.py's forms)."""
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
