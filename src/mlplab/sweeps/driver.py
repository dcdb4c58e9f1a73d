"""The sweep's driver: expand the spec, check the results folder, keep the backend busy, store each result.

:func:`run` resolves every run before anything is written, takes the folder's lock, hands the
runs a scheduler (:mod:`mlplab.sweeps.schedulers`) chooses to the backend
(:mod:`mlplab.sweeps.backends`) and stores each result in one transaction
(:mod:`mlplab.sweeps.store`). A worker that dies gets its run retried up to
:data:`MAX_ATTEMPTS` starts in all; a lost Ray head stops the sweep at once (:class:`ClusterLost`).
:func:`sweep` is :func:`run` followed by :func:`mlplab.sweeps.reading.load_runs`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mlplab.io import atomic_write
from mlplab.sweeps import store
from mlplab.sweeps.backends import HeadLost, LocalPool, RayBackend
from mlplab.sweeps.reading import load_runs
from mlplab.sweeps.schedulers import TPE, Halving, Plain
from mlplab.sweeps.spec import SpecError, describe, expand_spec

MAX_ATTEMPTS = 3  # a run whose worker dies is started at most this often (the first try + 2 retries)
BACKENDS = ("local", "ray")


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
    """A backend object from its name ("local" or "ray"); a backend object is returned as it is."""
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


def _refuse_mixed_results(out: Path, e) -> None:
    """The folder can take this expansion's results: intact, and no other sweep's (or a changed spec's) runs."""
    n_mixed, combo, keys = store.conflicts(out, e.runs) if not e.cached else (0, {}, [])
    if n_mixed:
        raise SpecError(f"{str(out)!r} holds {n_mixed} run(s) with the swept values of runs of {e.where} but other "
                        f"settings ({', '.join(keys)} changed, e.g. for {describe(combo)!r}): the two sweeps would "
                        "share labels; give another --out for the changed spec, or sweep the changed option in [grid]")
    if e.runs and not e.cached:  # (a cached expansion is this folder's own sweep)
        foreign = store.other_sweep(out, e.runs)
        if foreign:
            raise SpecError(f"{str(out)!r} holds the results of another sweep ({foreign} runs, none of them a run of "
                            f"{e.where}); give another --out, or remove that folder first")


def _scheduler(con, e):
    """The sweep's meta stored, the scheduler of its [search]: TPE, successive halving, or every run in order."""
    budget = e.search["early_stop"]["budget"] if e.search and e.search["early_stop"] else None
    store.set_meta(con, swept=e.swept, spec_name=e.where, metric=e.search["metric"] if e.search else "auto",
                   budget=budget)
    if e.search and e.search["sampler"] == "tpe":
        return TPE(con, e)
    if e.rungs:
        return Halving(con, e)
    sched = Plain(con, e)
    if e.key is not None and not e.cached:
        store.set_meta(con, expansion={"key": e.key, "ids": [sched.ids_in_order[i] for i in range(len(e.runs))]})
    return sched


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
    out = check_out(out)
    try:
        store.check_folder(out)
    except store.StoreError as exc:
        raise SpecError(str(exc)) from None
    e = expand_spec(spec, where, cached=lambda key: store.cached_runs(out, key))
    _refuse_mixed_results(out, e)
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
            sched = _scheduler(con, e)
            outcome = Outcome(out, sched.ids(), sched.skipped, backend=be.describe())
            if on_start is not None:
                on_start(outcome, sched.n_todo, be)
            _drive(con, be, out, sched, e.source, on_result, e.resolver)
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


def _task(rid: int, attempt: int, r, out: Path, where: str, be, resolver) -> dict:
    """What a worker needs to train run ``rid`` (:func:`mlplab.sweeps.runner.run_task`'s input)."""
    task = {"id": rid, "attempt": attempt, "cfg": r.cfg, "options": r.options, "where": where,
            "model": str(out / "models" / f"run-{rid:04d}.safetensors"),
            "return_model": be.name != "local"}
    if be.name != "local" and resolver is not None:  # the data travel with the task
        task["table"] = resolver.table(resolver.args(r.options, where))
    return task


def _store_event(con, out: Path, kind: str, task: dict, payload, attempts: int) -> None:
    """Store a finished ("ok") or raising ("error") run, or one whose worker died ``attempts`` times."""
    rid = task["id"]
    if kind == "ok":
        payload = dict(payload)
        data = payload.pop("model_bytes", None)
        if data is not None:  # from a Ray worker
            atomic_write(task["model"], data)
            payload["model"] = task["model"]
        if payload.get("model"):
            payload["model"] = str(Path(payload["model"]).relative_to(out))
        store.record(con, rid, payload)
    elif kind == "error":
        store.fail(con, rid, payload)
    else:
        store.fail(con, rid, f"{payload}; gave up after {attempts} attempts (rerun the sweep to try again)")


def _drive(con, be, out: Path, sched, where: str, on_result, resolver=None) -> None:
    """Keep the backend busy with the scheduler's runs; store each result as it comes (one transaction each)."""
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
                task = _task(rid, attempts[rid], sched.by_id[rid], out, where, be, resolver)
                inflight[rid] = task  # first: a Ctrl-C from here on puts the run back to pending
                store.mark_running(con, rid, attempts[rid], be.name)
                be.submit(task)
            if not inflight:
                break
            for kind, task, payload in be.wait(timeout=1.0):
                rid = task["id"]
                inflight.pop(rid, None)
                if kind not in ("ok", "error") and attempts[rid] < MAX_ATTEMPTS:  # died: again, first in line
                    store.mark_pending(con, [rid])
                    sched.again(rid)
                    continue
                _store_event(con, out, kind, task, payload, attempts[rid])
                row = store.rows(con, [rid], history=False)[0]
                sched.result(rid, row)
                if on_result is not None:
                    on_result(row)
    except BaseException as exc:  # Ctrl-C, a lost cluster (or a bug): the runs in flight go back to pending
        store.mark_pending(con, list(inflight), unspent=isinstance(exc, HeadLost))
        if isinstance(exc, HeadLost):
            raise ClusterLost(str(exc)) from None
        raise


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
        swept keys. :func:`mlplab.sweeps.summarize` groups it by everything but the seed.

    Raises:
        SpecError (a ValueError): the spec, a combination or an option cannot run;
        raised before any run starts or anything is written.
    """
    outcome = run(spec, out, backend=backend, workers=workers, address=address,
                  where=None if not isinstance(spec, dict) else "the spec")
    runs = load_runs(outcome.out, outcome.ids)
    if report is not None:
        from mlplab.sweeps.report import write_report  # pandas, the figures: not in every worker that imports us

        write_report(report, runs)
    return runs
