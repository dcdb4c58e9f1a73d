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
(``diverged``), not an error.

This package is an edge of mlplab, like the CLI: ``import mlplab`` does not
import it (``mlplab.sweep`` loads it on first use).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from mlplab.sweeps.spec import SpecError, describe, expand

MAX_ATTEMPTS = 3  # a run whose worker dies is started at most this often (the first try + 2 retries)
BACKENDS = ("local", "ray")

__all__ = ["sweep", "run", "load_runs", "summarize", "describe", "expand", "SpecError", "Outcome", "MAX_ATTEMPTS"]


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
    """
    from mlplab.sweeps import store

    runs, swept, where, source = expand(spec, where)
    out = check_out(out)
    try:
        store.check_folder(out)
    except store.StoreError as exc:
        raise SpecError(str(exc)) from None
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
            ids = store.add_runs(con, runs)
            store.set_meta(con, swept=swept, spec_name=where)
            by_id = {ids[r.params]: r for r in runs}
            status = store.status_of(con, by_id)
            todo = [rid for rid in by_id if status[rid] not in ("done", "diverged")]
            outcome = Outcome(out, sorted(by_id), len(by_id) - len(todo), backend=be.describe())
            if on_start is not None:
                on_start(outcome, len(todo), be)
            _drive(con, be, out, by_id, todo, source, on_result)
            final = store.status_of(con, by_id)
            outcome.counts = {s: sum(v == s for v in final.values()) for s in sorted(set(final.values()))}
        finally:
            con.close()
            held.close()
    finally:
        if owned:
            be.close()
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _drive(con, be, out: Path, by_id: dict, todo: list[int], where: str, on_result) -> None:
    """Keep the backend busy with the pending runs; store each result as it comes (one transaction each)."""
    from mlplab.sweeps import store

    queue = deque(todo)
    attempts = {rid: 0 for rid in todo}
    inflight: dict[int, dict] = {}
    if todo and hasattr(be, "start"):
        be.start(len(todo))  # the workers (never more than runs), before any run is marked running
    try:
        while queue or inflight:
            while queue and len(inflight) < be.capacity:
                rid = queue.popleft()
                attempts[rid] += 1
                r = by_id[rid]
                task = {"id": rid, "attempt": attempts[rid], "cfg": r.cfg, "options": r.options, "where": where,
                        "model": str(out / "models" / f"run-{rid:04d}.safetensors"),
                        "return_model": be.name != "local"}
                inflight[rid] = task  # first: a Ctrl-C from here on puts the run back to pending
                store.mark_running(con, rid, attempts[rid], be.name)
                be.submit(task)
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
                    queue.appendleft(rid)
                    continue
                else:
                    store.fail(con, rid, f"{payload}; gave up after {attempts[rid]} attempts (rerun the sweep to "
                                         "try again)")
                if on_result is not None:
                    on_result(store.rows(con, [rid])[0])
    except BaseException:  # Ctrl-C (or a bug): the runs in flight go back to pending for the next sweep
        store.mark_pending(con, list(inflight))
        raise


def load_runs(out, ids=None):
    """The runs stored in ``out/results.sqlite`` as a pandas DataFrame, one row per run (see :func:`sweep`)."""
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
        rows = store.rows(con, ids)
        swept = store.get_meta(con).get("swept")
    finally:
        con.close()
    return results.runs_frame(rows, swept)


def summarize(runs):
    """The runs grouped by everything but the seed: mean and std of E, ‖∇E‖, accuracy, cost and time."""
    from mlplab.sweeps import results

    return results.summarize(runs)


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
