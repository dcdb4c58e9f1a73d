"""Where sweep runs execute: a local process pool (default) or a Ray cluster.

A backend takes tasks (:func:`mlplab.sweeps.runner.run_task`'s input) and
reports what became of each as events ``(kind, task, payload)``:

* ``("ok", task, result)`` — the run finished (done or diverged);
* ``("error", task, message)`` — the run raised (a bad data file, a bug): not retried;
* ``("died", task, reason)`` — the worker died under the run (killed, out of memory,
  a Ray node lost): the driver retries it.

The local pool is hand-rolled rather than ``concurrent.futures``: one pipe per
worker process, so the death of a worker is pinned on the one run it held
(a ``ProcessPoolExecutor`` fails every run in flight and must be rebuilt).
Workers are *spawned* (no fork of a driver with live threads) with the BLAS
thread variables set to 1 before NumPy is imported.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager


def execute(task: dict):
    """Run one task in a worker: ('ok', result) or ('error', one-line message)."""
    from mlplab.data import DataError
    from mlplab.sweeps.runner import run_task

    try:
        return "ok", run_task(task)
    except KeyboardInterrupt:
        raise
    except (DataError, ValueError) as exc:  # UserError, DataError, ModelFileError, the engine's ValueErrors
        return "error", " ".join(str(exc).split())
    except Exception as exc:  # noqa: BLE001 - reported in the run's row, the sweep goes on
        return "error", f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _worker_main(conn) -> None:
    """A local worker: run tasks from the pipe until it is closed (or gets None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    from mlplab.sweeps.runner import limit_threads

    limit_threads()
    import mlplab.sweeps.runner  # noqa: F401 - the engine's imports, before saying ready
    from mlplab.cli.common import resolve  # noqa: F401

    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if task is None:
            return
        reply = execute(task)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


@contextmanager
def _environ(values: dict):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


STARTUP_TIMEOUT = 300  # seconds a new worker may take to import NumPy, SciPy and mlplab (a loaded machine)


class _Slot:
    def __init__(self, proc, conn):
        self.proc, self.conn, self.task = proc, conn, None


class LocalPool:
    """``workers`` spawned processes, one BLAS thread each."""

    name = "local"

    def __init__(self, workers: int | None = None):
        import multiprocessing

        self.capacity = workers or os.cpu_count() or 1
        self.ctx = multiprocessing.get_context("spawn")
        self.slots: list[_Slot] = []

    def describe(self) -> str:
        return f"local pool of {self.capacity} worker{'s' * (self.capacity != 1)}"

    def _spawn(self, n: int) -> None:
        """Start n workers (in parallel) and wait until each has imported the engine."""
        from mlplab.sweeps.runner import ONE_THREAD

        new = []
        with _environ(ONE_THREAD):  # inherited by the new interpreters before they import NumPy
            for _ in range(n):
                parent, child = self.ctx.Pipe()
                proc = self.ctx.Process(target=_worker_main, args=(child,), daemon=True, name="mlplab-sweep-worker")
                proc.start()
                child.close()
                new.append(_Slot(proc, parent))
        self.slots += new
        for slot in new:
            try:
                ready = slot.conn.poll(STARTUP_TIMEOUT) and slot.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                ready = False
            if not ready:
                slot.proc.join(1)
                raise RuntimeError(f"a sweep worker process failed to start (exit code {slot.proc.exitcode}; its "
                                   "error is printed above); check that `python -c 'import mlplab.sweeps'` works, "
                                   "and that a script starting a sweep guards it with if __name__ == '__main__'")

    def start(self, n: int) -> None:
        """Have n workers running (no more than the pool's size) before the first run is handed out."""
        n = min(n, self.capacity) - len(self.slots)
        if n > 0:
            self._spawn(n)

    def submit(self, task: dict) -> None:
        if not any(s.task is None for s in self.slots):
            self._spawn(max(1, self.capacity - len(self.slots)))
        slot = next(s for s in self.slots if s.task is None)
        slot.task = task
        slot.conn.send(task)

    def wait(self, timeout: float) -> list:
        from multiprocessing.connection import wait

        busy = [s for s in self.slots if s.task is not None]
        if not busy:
            return []
        ready = set(wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout))
        events = []
        for s in busy:
            if s.conn not in ready and s.proc.sentinel not in ready:
                continue
            task, reply = s.task, None
            try:
                if s.conn.poll():
                    reply = s.conn.recv()
            except (EOFError, OSError):
                reply = None
            if reply is not None:
                s.task = None
                events.append((reply[0], task, reply[1]))
                continue
            s.proc.join(5)
            code = s.proc.exitcode
            why = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0 and
                   -code in signal.Signals._value2member_map_ else f"exit code {code}")
            events.append(("died", task, f"the worker process died during the run ({why})"))
            s.conn.close()
            self.slots.remove(s)
        return events

    def close(self) -> None:
        for s in self.slots:
            try:
                if s.task is None:
                    s.conn.send(None)
            except OSError:
                pass
        for s in self.slots:
            if s.task is not None:
                s.proc.terminate()
            s.proc.join(5)
            if s.proc.is_alive():
                s.proc.kill()
                s.proc.join()
            s.conn.close()
        self.slots = []


def _ray_execute(task: dict):
    from mlplab.sweeps.runner import limit_threads

    limit_threads()
    return execute(task)


class RayBackend:
    """Each run a Ray task (``num_cpus=1``); a local Ray is started for the sweep when none is running."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RuntimeError('the ray backend needs Ray, which is not installed; install it with: '
                               'pip install "mlplab[ray]" (or use --backend local)') from None
        from mlplab.sweeps.runner import ONE_THREAD

        self.ray = ray
        self.owned = False
        if not ray.is_initialized():
            kw = {"address": address} if address else {"num_cpus": workers or os.cpu_count() or 1}
            try:
                ray.init(**kw, runtime_env={"env_vars": dict(ONE_THREAD)}, include_dashboard=False,
                         logging_level="ERROR", log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address!r}" if address else "a local Ray"
                raise RuntimeError(f"cannot start or reach {where} ({' '.join(str(exc).split())[:300]}); "
                                   "check --address (auto, or ray://HOST:10001) or use --backend local") from None
            self.owned = True
        cpus = int(ray.cluster_resources().get("CPU", 1) or 1)
        self.capacity = workers or cpus
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_ray_execute)
        self.refs: dict = {}

    def describe(self) -> str:
        return f"Ray, {self.capacity} tasks at a time"

    def submit(self, task: dict) -> None:
        self.refs[self.remote.remote(task)] = task

    def wait(self, timeout: float) -> list:
        if not self.refs:
            return []
        ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        events = []
        for ref in ready:
            task = self.refs.pop(ref)
            try:
                kind, payload = self.ray.get(ref)
                events.append((kind, task, payload))
            except self.ray.exceptions.RayTaskError as exc:  # the task raised past execute(): not retried
                events.append(("error", task, " ".join(str(exc.cause if hasattr(exc, "cause") else exc).split())))
            except self.ray.exceptions.RayError as exc:  # worker crashed, node died, object lost
                events.append(("died", task, f"the Ray worker died during the run ({type(exc).__name__})"))
        return events

    def close(self) -> None:
        for ref in list(self.refs):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self.refs = {}
        if self.owned:
            self.ray.shutdown()
