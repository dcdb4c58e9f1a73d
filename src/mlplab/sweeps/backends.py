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

import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
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
    import mlplab.config  # noqa: F401 - the engine's imports and the run's settings, before saying ready
    import mlplab.sweeps.runner  # noqa: F401

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


class HeadLost(RuntimeError):
    """The Ray cluster's head is gone (killed, stopped, unreachable): the sweep stops, resumable."""


STARTUP_TIMEOUT = 300  # seconds a new worker may take to import NumPy, SciPy and mlplab (a loaded machine)


class _Slot:
    def __init__(self, proc, conn):
        self.proc, self.conn, self.task = proc, conn, None


class LocalPool:
    """``workers`` spawned processes, one BLAS thread each."""

    name = "local"

    def __init__(self, workers: int | None = None):
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
        busy = [s for s in self.slots if s.task is not None]
        if not busy:
            return []
        ready = set(multiprocessing.connection.wait([s.conn for s in busy] + [s.proc.sentinel for s in busy],
                                                    timeout))
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


def _ray_execute(task: dict, table=None):
    """A Ray task: ``table`` is the run's data, from the object store (resolved by Ray before the call)."""
    from mlplab.sweeps.runner import limit_threads

    limit_threads()
    if table is not None:
        task = dict(task, table=table)
    return execute(task)


def _token_auth() -> None:
    """Connect with Ray's token authentication when this machine holds a token (RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) and RAY_AUTH_MODE is unset: a `ray start` cluster of
    Ray ≥ 2.5x requires it, and without it the driver only retries until it gives up."""
    if os.environ.get("RAY_AUTH_MODE") is not None:
        return
    try:
        import logging

        from ray._private.authentication import authentication_token_setup as setup
    except ImportError:  # a Ray without token authentication
        return
    log = logging.getLogger(setup.__name__)
    level = log.level
    log.setLevel(logging.ERROR)  # its "token authentication is enabled" warning is no news to the user
    try:
        setup.maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    except Exception:  # noqa: BLE001 - Ray's own connection error follows, with its message
        pass
    finally:
        log.setLevel(level)


class RayBackend:
    """Each run a Ray task (``num_cpus=1``); a local Ray is started for the sweep when none is running."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None):
        try:
            import ray
        except ImportError:
            raise RuntimeError('the ray backend needs Ray, which is not installed; install it with: '
                               'pip install "mlplab[ray]" (or use --backend local)') from None
        from mlplab.sweeps.runner import CRASH_HOOK, DELAY_HOOK, ONE_THREAD

        self.ray = ray
        self.owned = False
        if address and not ray.is_initialized():
            _token_auth()
        if not ray.is_initialized():
            kw = {"address": address} if address else {"num_cpus": workers or os.cpu_count() or 1}
            try:
                hooks = {k: os.environ[k] for k in (CRASH_HOOK, DELAY_HOOK) if k in os.environ}  # tests only
                ray.init(**kw, runtime_env={"env_vars": {**ONE_THREAD, **hooks}}, include_dashboard=False,
                         logging_level="ERROR", log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                where = f"the Ray cluster at {address!r}" if address else "a local Ray"
                why = " ".join(str(exc).split())[:300]
                if "auth" in why.lower() or "token" in why.lower():
                    hint = ("the cluster uses Ray's token authentication: give this machine the cluster's token "
                            "(`ray get-auth-token` on the head) in ~/.ray/auth_token or RAY_AUTH_TOKEN")
                else:
                    hint = ("check --address (HOST:6379 for the head's GCS port, or ray://HOST:10001 for the Ray "
                            "client) and that the port is reachable; a cluster with token authentication also needs "
                            "its token in ~/.ray/auth_token or RAY_AUTH_TOKEN; or use --backend local")
                raise RuntimeError(f"cannot start or reach {where} ({why}); {hint}") from None
            self.owned = True
        self._probe = self._head_address(address)
        self._misses = 0
        cpus = int(ray.cluster_resources().get("CPU", 1) or 1)
        self.capacity = workers or cpus
        self.remote = ray.remote(num_cpus=1, max_retries=0)(_ray_execute)
        self.refs: dict = {}
        self._puts: dict = {}  # id(table) -> (object ref, table): each data set enters the object store once
        self.notes: list[str] = []
        self._quiet_raylet()

    def _quiet_raylet(self) -> None:
        """Ray prints the raylet's error messages ("A worker died or was killed ...") on the driver's
        stdout, in the middle of the progress; the sweep reports a death in the run's row instead."""
        try:
            import ray._private.worker as rw
        except ImportError:  # another Ray layout: its messages stay as they are
            self._restore = None
            return
        orig = rw.print_to_stdstream

        def print_to_stdstream(data, ignore_prefix, *a, **kw):
            if isinstance(data, dict) and data.get("pid") == "raylet":
                self.notes.append(" ".join(" ".join(data.get("lines") or []).split())[:500])
                return None
            return orig(data, ignore_prefix, *a, **kw)

        rw.print_to_stdstream = print_to_stdstream
        self._restore = (rw, orig)

    def describe(self) -> str:
        return f"Ray, {self.capacity} tasks at a time"

    def _head_address(self, address):
        """(host, port) to probe for the head: the Ray client's server (ray://) or the GCS."""
        try:
            if address and address.startswith("ray://"):
                hostport = address[len("ray://"):].split("/")[0]
            else:
                hostport = self.ray.get_runtime_context().gcs_address
            host, _, port = hostport.rpartition(":")
            return host.strip("[]"), int(port)
        except Exception:  # noqa: BLE001 - no probe: Ray's own errors only
            return None

    def _head_alive(self) -> bool:
        """A TCP connection to the head's port: refused twice in a row (about 2 s) means the head is gone.
        Ray itself would wait about 60 s, then abort the driver, runs in flight left 'running'."""
        if self._probe is None:
            return True
        try:
            socket.create_connection(self._probe, timeout=2).close()
            self._misses = 0
        except OSError:
            self._misses += 1
        return self._misses < 2

    def lost(self, why: str) -> "HeadLost":
        where = f"{self._probe[0]}:{self._probe[1]}" if self._probe else "its address"
        self.gone = True
        return HeadLost(f"lost the Ray cluster's head ({where}: {why}); the runs in flight are back to pending "
                        "with their attempts — restart the cluster (or pick another --address) and rerun the same "
                        "command to finish the sweep")

    def submit(self, task: dict) -> None:
        task = dict(task)
        table = task.pop("table", None)
        ref = None
        if table is not None:
            if id(table) not in self._puts:
                self._puts[id(table)] = (self.ray.put(table), table)
            ref = self._puts[id(table)][0]
        self.refs[self.remote.remote(task, ref)] = task

    def wait(self, timeout: float) -> list:
        if not self.refs:
            return []
        try:
            ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        except (OSError, ConnectionError) as exc:  # SIGTERM of the head: the connection is reset
            raise self.lost(" ".join(str(exc).split())[:120]) from None
        except self.ray.exceptions.RaySystemError as exc:
            raise self.lost(type(exc).__name__) from None
        if not ready and not self._head_alive():  # SIGKILL of the head: nothing comes, the port is closed
            raise self.lost("its port refuses connections")
        events = []
        for ref in ready:
            task = self.refs.pop(ref)
            try:
                kind, payload = self.ray.get(ref)
                events.append((kind, task, payload))
            except self.ray.exceptions.RayTaskError as exc:  # the task raised past execute(): not retried
                events.append(("error", task, " ".join(str(exc.cause if hasattr(exc, "cause") else exc).split())))
            except self.ray.exceptions.RayError as exc:  # worker crashed, node died, object lost
                if not self._head_alive() and not self._head_alive():  # the cluster, not the worker: no retry spent
                    self.refs[ref] = task
                    raise self.lost(type(exc).__name__) from None
                events.append(("died", task, f"the Ray worker died during the run ({type(exc).__name__})"))
        return events

    gone = False

    def close(self) -> None:
        if self.gone:  # nothing to cancel on a cluster that is gone; Ray's shutdown would wait for it
            self.refs, self._puts = {}, {}
            self._unpatch()
            return
        for ref in list(self.refs):
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self.refs = {}
        self._puts = {}
        if self.owned:
            self.ray.shutdown()
        self._unpatch()

    def _unpatch(self) -> None:
        if self._restore is not None:
            rw, orig = self._restore
            rw.print_to_stdstream = orig
            self._restore = None
