"""B1–B6: each case runs mlplab and every installed peer in the same process and run.

Every case returns a list of rows (dicts) for the report; a peer that is not
installed, or has no equivalent of a case, gives a row with ``skipped`` set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from bench import impl_mlplab as ml
from bench.core import FULL, SMOKE, Sizes, Timing, evaluate, glorot_weights, have, measure, measure_all  # noqa: F401


PEERS = {"sklearn": "sklearn", "torch": "torch"}


def _skip(case, library, why):
    return {"case": case, "library": library, "skipped": why}


def _row(case, library, timing: Timing, **extra):
    return {"case": case, "library": library, "time": timing.as_dict(), **extra}


# --- B1 -----------------------------------------------------------------------


def b1(sz: Sizes, data) -> list[dict]:
    """One epoch of mini-batch SGD, every library from the same w^0 with the same γ and |B|."""
    rows = []
    order = np.random.default_rng(1).permutation(sz.S)
    # γ = 0.02 for the deep relu net: at 0.1 its float32 trajectories are chaotic (libraries agree
    # to 7 digits for the first 10 steps, then part ways), so final losses would not be comparable
    nets = [("784-300-10 sigmoid", (sz.n_in, sz.hidden, 10), "sigmoid", "float32", sz.lr),
            ("784-300-10 sigmoid", (sz.n_in, sz.hidden, 10), "sigmoid", "float64", sz.lr),
            ("784-512-512-10 relu", (sz.n_in, *sz.deep, 10), "relu", "float32", sz.lr / 5)]
    for label, sizes, act, dtype, lr in nets:
        case = f"B1 {label} {dtype}"
        d = data if dtype == "float32" else data.astype(dtype)
        init = glorot_weights(sizes, dtype)
        args = (d, sizes, act, init, dtype, sz.batch, lr)
        runs = {"mlplab": lambda: ml.epoch(*args, order),
                "mlplab update API": lambda: ml.epoch_steps(*args, order),
                "mlplab train()": lambda: ml.epoch_train(*args, seed=1),
                "mlplab train(monitor='batch')": lambda: ml.epoch_train(*args, seed=1, monitor="batch")}
        if have("sklearn"):
            from bench import impl_sklearn

            runs["sklearn"] = lambda: impl_sklearn.epoch(*args)
        else:
            rows.append(_skip(case, "sklearn", "not installed"))
        if have("torch"):
            from bench import impl_torch

            runs["torch"] = lambda: impl_torch.epoch(*args, order)
        else:
            rows.append(_skip(case, "torch", "not installed"))
        for lib, (timing, layers) in measure_all(runs, repeats=sz.repeats).items():
            quality = evaluate(layers, act, data.X[:10_000], data.y[:10_000])
            rows.append(_row(case, lib, timing, lr=lr, **quality))
    return rows


# --- B2 -----------------------------------------------------------------------


def b2(sz: Sizes, data) -> list[dict]:
    """The lecture's SGD (|B| = 1, γ_k = 1/(k+1)); steps per second."""
    import mlplab

    rows = []
    Xs, ys = mlplab.datasets.lecture()
    small = data.head(sz.sgd_S)
    setups = [
        ("B2 SGD 2-2-1 net", Xs, ys, (2, 2, 1), "sigmoid", "sigmoid", "squared", False,
         sz.sgd_steps_small),
        # the backprop slides' network, mlplab.datasets.LECTURE_NETWORK_SIZES on lecture_network()
        ("B2 SGD 2-2-2-1 slides net", *mlplab.datasets.lecture_network(), tuple(mlplab.datasets.LECTURE_NETWORK_SIZES),
         "sigmoid", "sigmoid", "squared", False, sz.sgd_steps_small),
        ("B2 SGD 784-300-10 float32", small.X, small.y, (sz.n_in, sz.hidden, 10), "sigmoid", "softmax",
         "cross_entropy", True, sz.sgd_steps_large),
    ]
    for case, X, y, sizes, act, out, loss, bias, n in setups:
        init = glorot_weights(sizes, X.dtype)
        runs = {"mlplab": lambda: _steps(ml.sgd(X, y, sizes, act, out, loss, bias, init, n, seed=0), n)}
        if have("sklearn"):
            from bench import impl_sklearn

            runs["sklearn"] = lambda: impl_sklearn.sgd(X, y, sizes, n, init)
        else:
            rows.append(_skip(case, "sklearn", "not installed"))
        if have("torch"):
            from bench import impl_torch

            runs["torch"] = lambda: impl_torch.sgd(X, y, sizes, act, out, loss, bias, init, n, seed=0)
            runs["torch (torch.optim)"] = lambda: impl_torch.sgd_optim(X, y, sizes, act, out, loss, bias, init, n,
                                                                       seed=0)
        else:
            rows.append(_skip(case, "torch", "not installed"))
        for lib, (timing, steps) in measure_all(runs, repeats=sz.repeats).items():
            rows.append(_row(case, lib, timing, steps=steps, steps_per_s=steps / timing.median))
    return rows


def _steps(result, n):
    seconds, res = result
    return seconds, res.n_iter if res.n_iter else n


# --- B3 -----------------------------------------------------------------------


def b3(sz: Sizes, data) -> list[dict]:
    """Full-batch GD with exact line search on gd_S samples (float64: a line search resolves E to 1e-8)."""
    case = f"B3 GD exact line search, S={sz.gd_S}, float64"
    d = data.head(sz.gd_S).astype("float64")
    sizes = (sz.n_in, sz.hidden, 10)
    init = glorot_weights(sizes, "float64")
    runs = {"mlplab": lambda: ml.gd_exact(d, sizes, "sigmoid", init, "float64", sz.gd_iter)}
    rows = [_skip(case, "sklearn", "no gradient descent with exact line search in scikit-learn")]
    if have("torch"):
        from bench import impl_torch

        runs["torch"] = lambda: impl_torch.gd_exact(d, sizes, "sigmoid", init, "float64", sz.gd_iter)
    else:
        rows.append(_skip(case, "torch", "not installed"))
    for lib, (timing, out) in measure_all(runs, repeats=max(1, sz.repeats // 2)).items():
        rows.append(_row(case, lib, timing, per_iter=timing.median / sz.gd_iter, iterations=sz.gd_iter,
                         loss=out["loss"], ls_evals=out["ls_evals"]))
    return rows


# --- B4 -----------------------------------------------------------------------


def b4(sz: Sizes, data) -> list[dict]:
    """Per-sample gradients ∇e^s, S = ps_S, float32."""
    case = f"B4 per-sample grads S={sz.ps_S} 784-300-10 float32"
    d = data.head(sz.ps_S)
    sizes = (sz.n_in, sz.hidden, 10)
    init = glorot_weights(sizes, "float32")
    runs = {"mlplab": lambda: ml.per_sample_grads(d, sizes, "sigmoid", init, "float32")}
    rows = [_skip(case, "sklearn", "no per-sample gradients in scikit-learn")]
    if have("torch"):
        from bench import impl_torch

        runs["torch"] = lambda: impl_torch.per_sample_grads(d, sizes, "sigmoid", init, "float32")
    else:
        rows.append(_skip(case, "torch", "not installed"))
    measured = measure_all(runs, repeats=sz.repeats)
    results = {lib: out for lib, (_, out) in measured.items()}
    rows += [_row(case, lib, timing) for lib, (timing, _) in measured.items()]
    if "torch" in results:  # same numbers? (mlplab's flat layout W^1, b^1, W^2, b^2)
        G = results["mlplab"]
        T = np.concatenate([t.reshape(len(G), -1).numpy() for t in results["torch"].values()], axis=1)
        rows[-1]["max_abs_diff_vs_mlplab"] = float(np.max(np.abs(G - T)))
    return rows


# --- B5 -----------------------------------------------------------------------


def b1_flops(S, sizes) -> int:
    """FLOPs of one epoch: forward 2 S N_ℓ N_{ℓ−1} per layer; backward the same for ∇W^ℓ, and
    again for δ^{ℓ−1} except at ℓ = 1 (no δ^0 needed). Element-wise work is not counted."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    gemm = [2 * S * n_in * n_out for n_in, n_out in layers]
    return sum(gemm) * 2 + sum(gemm[1:])


def gemm_peak(sz: Sizes, earlier: list | None = None) -> list[dict]:
    """Best GFLOP/s of square GEMMs, float32 and float64; ``earlier`` rows of this function
    (measured before B1) are merged in: the peak is a capability, so the best run counts."""
    n = sz.gemm_n
    rows = []
    for dtype in ("float32", "float64"):
        rng = np.random.default_rng(0)
        A, B = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
        C = np.empty_like(A)

        def run():
            from bench.core import Clock

            with Clock() as c:
                np.matmul(A, B, out=C)
            return c.seconds, None

        timing, _ = measure(run, repeats=max(3, sz.repeats))
        for r in earlier or []:
            if r["case"].endswith(dtype):
                timing.times += r["times"]
        rows.append(_row(f"B5 GEMM peak {n}x{n} {dtype}", "numpy", timing,
                         gflops=2 * n ** 3 / min(timing.times) / 1e9, times=timing.times))
    return rows


def b5(sz: Sizes, b1_rows, earlier_peaks=None) -> list[dict]:
    """Measured GEMM peak and B1's time as a fraction of its FLOP-bound time."""
    rows = gemm_peak(sz, earlier_peaks)
    peaks = {r["case"].split()[-1]: r["gflops"] for r in rows}
    for r in b1_rows:
        if r["library"] != "mlplab" or "skipped" in r:
            continue
        dtype = r["case"].split()[-1]
        sizes = (sz.n_in, sz.hidden, 10) if "784-300-10" in r["case"] else (sz.n_in, *sz.deep, 10)
        flops = b1_flops(sz.S, sizes)
        bound = flops / (peaks[dtype] * 1e9)
        from mlplab.fast import blas

        # the faster of NumPy's BLAS and SciPy's (the engine's): the better case for "no overhead"
        gemm_timing = min((measure(lambda: _gemms_only(sz.S, sz.batch, sizes, dtype, mm), repeats=max(3, sz.repeats))[0]
                           for mm in (np.matmul, blas.matmul)), key=lambda t: t.median)
        rows.append({"case": f"B5 roofline {r['case'][3:]}", "library": "mlplab", "flops": flops,
                     "flop_bound_s": bound, "measured_s": r["time"]["median"],
                     "fraction_of_roofline": bound / r["time"]["median"],
                     "gemm_only_s": gemm_timing.median, "batch": sz.batch,
                     "gemm_only_fraction_of_roofline": bound / gemm_timing.median})
    return rows


def _gemms_only(S, batch, sizes, dtype, matmul=np.matmul):
    """The epoch's GEMMs alone, at B1's shapes (|B| × N_ℓ), into preallocated outputs:
    what an engine with zero overhead outside BLAS would take. ``matmul``: NumPy's, or
    ``mlplab.fast.blas.matmul`` (SciPy's BLAS, which mlplab's engine uses)."""
    from bench.core import Clock

    rng = np.random.default_rng(0)
    Ws = [rng.random((n, n_prev)).astype(dtype) for n_prev, n in zip(sizes[:-1], sizes[1:])]
    As = [rng.random((batch, n)).astype(dtype) for n in sizes]
    Gs = [np.empty_like(W) for W in Ws]
    with Clock() as c:
        for _ in range(S // batch):
            for ell, W in enumerate(Ws):
                matmul(As[ell], W.T, out=As[ell + 1])  # forward Z^ℓ
            for ell in range(len(Ws) - 1, -1, -1):
                matmul(As[ell + 1].T, As[ell], out=Gs[ell])  # ∇W^ℓ = dZᵀ A^{ℓ−1}
                if ell > 0:
                    matmul(As[ell + 1], Ws[ell], out=As[ell])  # δ^{ℓ−1} = dZ W^ℓ
    return c.seconds, None


# --- B6 -----------------------------------------------------------------------


def b6(smoke: bool) -> list[dict]:
    """Peak RSS of B1 (784-300-10 float32, one epoch): a fresh process per library."""
    rows = []
    for lib in ("data only", "mlplab", "sklearn", "torch"):
        if lib in PEERS and not have(PEERS[lib]):
            rows.append(_skip("B6 peak RSS, B1 float32", lib, "not installed"))
            continue
        cmd = [sys.executable, "-m", "bench.memory", lib] + (["--smoke"] if smoke else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
        rows.append({"case": "B6 peak RSS, B1 float32", "library": lib, **json.loads(out.stdout.splitlines()[-1])})
    return rows
