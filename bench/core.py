"""Timing, data and machine information shared by every case."""

from __future__ import annotations

import importlib
import os
import platform
import statistics
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Sizes:
    """Problem sizes: the issue's (``full``) or tiny ones for the smoke run. Here, not in cases.py, so that
    ``bench.memory`` can read them without importing mlplab into a peer's process (B6)."""

    S: int = 60_000
    n_in: int = 784
    hidden: int = 300
    deep: tuple = (512, 512)
    batch: int = 128
    lr: float = 0.1
    sgd_S: int = 1_000  # samples the 784-300-10 per-sample SGD draws from
    sgd_steps_small: int = 20_000  # the 2-2-1 sigmoid net
    sgd_steps_large: int = 2_000  # 784-300-10
    gd_S: int = 10_000
    gd_iter: int = 5
    ps_S: int = 1_024
    repeats: int = 5
    gemm_n: int = 2_000
    est_S: int = 10_000  # samples the estimators (B8) fit on


FULL = Sizes()
SMOKE = Sizes(S=512, n_in=20, hidden=16, deep=(16, 16), batch=32, sgd_S=64, sgd_steps_small=200,
              sgd_steps_large=50, gd_S=256, gd_iter=2, ps_S=32, repeats=1, gemm_n=64, est_S=256)

@dataclass
class Timing:
    """Seconds per repeat after the warm-up runs (median, min, max)."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_dict(self) -> dict:
        return {"median": self.median, "min": min(self.times), "max": max(self.times),
                "repeats": len(self.times)}


SETTLE_S = 0.3  # pause before each timed run, see settle()


def settle() -> None:
    """Let the last run's BLAS / OpenMP worker threads stop spinning before the next run.

    OpenBLAS and OpenMP workers busy-wait for a while (OpenBLAS: ~2^28 cycles) after
    each parallel call. NumPy, SciPy, scikit-learn and PyTorch use three different
    pools, so a run started right after another library's would share the cores
    with the other pool's spinning threads and look slower than it is.
    """
    time.sleep(SETTLE_S)


def measure(run, *, repeats: int, warmup: int = 1) -> tuple[Timing, object]:
    """Call ``run()`` warmup + repeats times; time the repeats. Returns (Timing, last result).

    ``run`` returns (seconds, result) so that it can exclude its own set-up
    (building the model, copying weights) from the time.
    """
    result = None
    for _ in range(warmup):
        _, result = run()
    times = []
    for _ in range(repeats):
        result = None  # free the last result first: each run allocates into released memory
        settle()
        seconds, result = run()
        times.append(seconds)
    return Timing(times), result


def measure_all(runs: dict, *, repeats: int, warmup: int = 1) -> dict:
    """``measure`` for several libraries, round-robin: every repeat runs each library once.

    On a shared machine, bursts of outside load then hit every library alike
    instead of whichever happened to be running. Returns {name: (Timing, last result)}.
    """
    results, times = {}, {name: [] for name in runs}
    for _ in range(warmup):
        for name, run in runs.items():
            results[name] = None
            results[name] = run()[1]
    for _ in range(repeats):
        for name, run in runs.items():
            results[name] = None  # free the last result first: each run allocates into released memory
            settle()
            seconds, results[name] = run()
            times[name].append(seconds)
    return {name: (Timing(times[name]), results[name]) for name in runs}


class Clock:
    """``with Clock() as c: ...``, then ``c.seconds``."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0


# --- data ----------------------------------------------------------------------


@dataclass
class Data:
    """Synthetic MNIST-shaped data: X (S, 784) in [0, 1), labels from a fixed linear teacher.

    The labels y = argmax((X − ½) T) are learnable, so accuracy after one epoch
    says whether an engine trained at all.
    """

    X: np.ndarray  # (S, N_0), float32
    y: np.ndarray  # (S,) int64 labels 0..K−1
    Y: np.ndarray = field(repr=False)  # (S, K) one-hot, float32

    def astype(self, dtype) -> "Data":
        return Data(self.X.astype(dtype), self.y, self.Y.astype(dtype))

    def head(self, n: int) -> "Data":
        return Data(self.X[:n], self.y[:n], self.Y[:n])


def make_data(S: int, n_in: int = 784, n_classes: int = 10, seed: int = 0) -> Data:
    rng = np.random.default_rng(seed)
    X = rng.random((S, n_in), dtype=np.float32)  # float32 directly: no float64 copy in memory
    T = rng.standard_normal((n_in, n_classes)).astype(np.float32)
    y = np.empty(S, dtype=np.int64)
    for i in range(0, S, 4096):  # in chunks: no second (S, n_in) array in memory (B6 measures peaks)
        y[i:i + 4096] = np.argmax((X[i:i + 4096] - np.float32(0.5)) @ T, axis=1)
    Y = np.zeros((S, n_classes), dtype=np.float32)
    Y[np.arange(S), y] = 1
    return Data(X, y, Y)


def glorot_weights(sizes, dtype, seed: int = 0):
    """The one initial point every library starts from: [(W^ℓ (N_ℓ, N_{ℓ−1}), b^ℓ = 0), …].

    Exactly mlplab's ``MLP(sizes, init="glorot", seed=seed)``: W^ℓ ~ U(−r, r),
    r = √(6 / (N_{ℓ−1} + N_ℓ)), drawn layer by layer from one generator; b = 0.
    Written with NumPy alone so that a peer's process need not import mlplab.
    """
    rng = np.random.default_rng(seed)
    out = []
    for n_prev, n in zip(sizes[:-1], sizes[1:]):
        r = np.sqrt(6.0 / (n_prev + n))
        out.append((rng.uniform(-r, r, (n, n_prev)).astype(dtype), np.zeros(n, dtype=dtype)))
    return out


def evaluate(layers, activation: str, X: np.ndarray, y: np.ndarray) -> dict:
    """Mean cross-entropy and accuracy of softmax(MLP(X)) for weights [(W, b), …] (any library's).

    One NumPy implementation for every library, so the numbers are comparable.
    """
    from scipy.special import expit, log_softmax

    hidden = {"sigmoid": expit, "relu": lambda z: np.maximum(z, 0)}[activation]
    A = X.astype(np.float64)
    for ell, (W, b) in enumerate(layers):
        Z = A @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        A = Z if ell == len(layers) - 1 else hidden(Z)
    logp = log_softmax(A, axis=1)
    return {"loss": float(-np.mean(logp[np.arange(len(y)), y])),
            "accuracy": float(np.mean(np.argmax(A, axis=1) == y))}


# --- machine -------------------------------------------------------------------


def library_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("mlplab", "numpy", "scipy", "sklearn", "torch", "threadpoolctl"):
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            out[name] = None
    return out


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    """CPU, cores, BLAS (threadpoolctl) and the environment variables that steer OpenBLAS."""
    info = {"platform": platform.platform(), "cpu": cpu_name(), "cores": os.cpu_count(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                   "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}}
    try:
        from threadpoolctl import threadpool_info

        import numpy  # noqa: F401  (loads NumPy's BLAS so threadpoolctl sees it)
        info["blas"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version", "architecture",
                                               "num_threads", "threading_layer", "filepath")}
                        for p in threadpool_info()]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def have(module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False
