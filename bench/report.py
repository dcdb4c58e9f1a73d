"""bench/results.md and bench/results.json from the rows of every case."""

from __future__ import annotations

import json


def _fmt_time(t):
    return f"{t['median']:.4g} s ({t['min']:.4g}–{t['max']:.4g}, n={t['repeats']})"


def _detail(r) -> str:
    bits = []
    if "steps_per_s" in r:
        bits.append(f"{r['steps_per_s']:,.0f} steps/s")
    if "per_iter" in r:
        bits.append(f"{r['per_iter'] * 1e3:.1f} ms/iteration, {r['ls_evals']:.1f} E-evals per line search, "
                    f"E = {r['loss']:.6g}")
    elif "accuracy" in r:
        bits.append(f"loss {r['loss']:.4f}, accuracy {r['accuracy']:.3f}")
    if "gflops" in r:
        bits.append(f"{r['gflops']:.1f} GFLOP/s")
    if "max_abs_diff_vs_mlplab" in r:
        bits.append(f"max |Δ| vs mlplab {r['max_abs_diff_vs_mlplab']:.2g}")
    if "fraction_of_roofline" in r:
        bits.append(f"{r['flops'] / 1e9:.1f} GFLOP, FLOP-bound {r['flop_bound_s']:.3f} s, "
                    f"measured {r['measured_s']:.3f} s → {100 * r['fraction_of_roofline']:.0f} % of roofline; "
                    f"the GEMMs alone at |B| = {r['batch']} take {r['gemm_only_s']:.3f} s "
                    f"({100 * r['gemm_only_fraction_of_roofline']:.0f} %)")
    if "peak_rss_mib" in r:
        bits.append(f"peak RSS {r['peak_rss_mib']:.0f} MiB")
    if "slowdown" in r:
        bits.append(f"quiet {r['quiet_s']:.3f} s → {r['slowdown']:.2f}× slower with one core busy")
    if "train_accuracy" in r:
        bits.append(f"training accuracy {r['train_accuracy']:.3f}")
    if "mean_block_loss" in r:
        bits.append(f"mean block loss {r['mean_block_loss']:.4f}")
    return "; ".join(bits)


def table(rows) -> str:
    lines = ["| case | library | time: median (min–max) | result |", "|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['case']} | {r['library']} | skipped | {r['skipped']} |")
        else:
            t = _fmt_time(r["time"]) if "time" in r else ""
            lines.append(f"| {r['case']} | {r['library']} | {t} | {_detail(r)} |")
    return "\n".join(lines)


def ratios(rows) -> list[str]:
    """mlplab's time over each peer's (B1, B3, B4) and steps/s ratios (B2), same run."""
    out = []
    by_case = {}
    for r in rows:
        if "time" in r and "skipped" not in r:
            by_case.setdefault(r["case"], {})[r["library"]] = r
    for case, libs in by_case.items():
        for mine in MINE:
            me = libs.get(mine)
            if me is None:
                continue
            for peer in libs:
                if peer.startswith("mlplab") or case.startswith("B7"):
                    continue
                if "steps_per_s" in me:
                    out.append(f"{case}: {mine} makes {me['steps_per_s'] / libs[peer]['steps_per_s']:.2f} × "
                               f"{peer}'s steps/s")
                else:
                    out.append(f"{case}: {mine} time = "
                               f"{me['time']['median'] / libs[peer]['time']['median']:.2f} × {peer}'s")
        fused = libs.get("mlplab")
        for mine in ("mlplab train()", "mlplab train(monitor='batch')"):
            if fused is not None and mine in libs and "steps_per_s" not in fused:
                out.append(f"{case}: {mine} time = {libs[mine]['time']['median'] / fused['time']['median']:.2f} × "
                           "the fused step's (mlplab)")
        if case.startswith("B7"):
            out += [f"{case}: {lib} slows {r['slowdown']:.2f}× (quiet {r['quiet_s']:.3f} s)" for lib, r in libs.items()]
    return out


# the rows of mlplab's own paths that get a ratio against every peer of their case
MINE = ("mlplab", "mlplab update API", "mlplab train()", "mlplab train(monitor='batch')", "mlplab CLI")


def markdown(rows, info, versions, command) -> str:
    blas = info["blas"]
    blas_lines = ([f"- {b['internal_api']} {b['version']}, kernel {b['architecture']}, "
                   f"{b['num_threads']} threads ({b['filepath']})" for b in blas]
                  if isinstance(blas, list) else [f"- {blas}"])
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None) or "none set"
    lib = ", ".join(f"{k} {v}" for k, v in versions.items() if v is not None)
    missing = ", ".join(k for k, v in versions.items() if v is None)
    parts = [
        "# mlplab benchmark results",
        "",
        f"Command: `{command}`",
        "",
        f"- machine: {info['platform']}, {info['cpu']}, {info['cores']} cores",
        f"- OpenBLAS environment: {env}",
        "- BLAS (threadpoolctl):", *["  " + b for b in blas_lines],
        f"- versions: {lib}" + (f" (not installed: {missing})" if missing else ""),
        "",
        "Times are wall-clock seconds after one warm-up run; median (min–max) of n repeats,",
        "taken round-robin (each repeat runs every library once) so that outside load hits all alike.",
        "Every library starts from the same w^0 (mlplab's Glorot draw) and runs the same",
        "architecture, dtype, batch size, γ and number of steps. Loss/accuracy (B1) are",
        "computed by one NumPy function from each library's final weights on the first",
        "10,000 training samples.",
        "",
        table(rows),
        "",
        "## Ratios (same run)",
        "",
        *[f"- {line}" for line in ratios(rows)],
        "",
        "## What is measured",
        "",
        "- B1: one epoch of mini-batch SGD, |B| = 128, γ = 0.1 (0.02 for the deep relu net, whose",
        "  float32 runs at 0.1 are chaotic and part ways between libraries), mean cross-entropy,",
        "  blocks from one fixed permutation (scikit-learn shuffles with its own RNG). `mlplab` is",
        "  `Problem.sgd_step` per block (the step `train` takes: each W^ℓ updated in place by the GEMM",
        "  that computes its gradient), input validation included; `mlplab update API` is the",
        "  optimizer API's loop (`Problem.value_and_grad` → `opt.update` → `w += step`), which forms",
        "  the gradient vector; `mlplab train()` is the epoch through `mlplab.train` with default",
        "  settings (monitor \"auto\": E and ∇E exact on all 60,000 samples at w^0 and at the end,",
        "  free block estimates between); `mlplab train(monitor='batch')` records only w^0 exactly.",
        "- B2: |B| = 1, γ_k = 1/(k+1), j_k uniform; mlplab through `train(..., eval_every=n)` (history",
        "  at start and end only; small nets run the compiled kernel `mlplab.fast.compiled` when Numba is",
        "  installed, else Python floats, `mlplab.fast.scalar`).",
        "  `torch` writes the update out (`autograd.grad`, `p.sub_`); `torch (torch.optim)` is the",
        "  textbook loop (`zero_grad`, `backward`, `torch.optim.SGD.step`, `LambdaLR.step`).",
        "  scikit-learn has biases on the 2-2-1 net (it cannot drop",
        "  them), uses log-loss, and its γ = 1/t changes once per epoch.",
        "- B3: full-batch GD on 10,000 samples (float64, E summed), α^k = argmin E(w + α d) by",
        "  mlplab's ExactLineSearch; torch runs the same search with φ(α) evaluated by torch.",
        "- B4: (S, d) per-sample gradients; torch returns a dict of per-parameter tensors.",
        "- B5: FLOPs count GEMMs only: forward 2·S·N_ℓ·N_{ℓ−1} per layer, backward the same for",
        "  ∇W^ℓ and for δ^{ℓ−1} at ℓ ≥ 2; peak = best of the square GEMMs run before B1 and in B5.",
        "  \"GEMMs alone\" (the faster of NumPy's BLAS and SciPy's, which mlplab uses) runs just",
        "  those GEMMs at the epoch's block shapes into preallocated outputs (no element-wise work):",
        "  the time an engine with no overhead outside BLAS would need at |B| = 128.",
        "- B6: `python -m bench.memory LIB`, one fresh process per library: peak RSS (VmHWM) after B1;",
        "  ru_maxrss is in results.json too, but Linux carries the parent's peak over fork/exec.",
        "- B7: B1's 784-300-10 float32 epoch, first on the quiet machine, then while a second process",
        "  (`while True: pass`) keeps one core busy; the slowdown is busy / quiet time, per library.",
        "- B8: the scikit-learn estimators, `mlplab.sklearn.MLPClassifier` and scikit-learn's, with the",
        "  same settings (hidden 300 logistic, |B| = 128, alpha 0, tol 0, random_state 0): sgd (γ 0.1,",
        "  no momentum) and adam for 2 epochs, lbfgs for 30 iterations; each from its own init.",
        "- B9: E and ∇E on each block of 128 over one epoch, no step: `net.loss_and_grad(X_B, y_B,",
        "  out=g)` against torch's forward, `F.cross_entropy` and `autograd.grad`.",
        "- B10: a fresh process each: `python -m mlplab train b1.npz …` (one epoch of mini-batch SGD,",
        "  the same settings) against a script running the torch.optim loop on the same .npz; both",
        "  include interpreter start-up, imports and loading; also `mlplab.train` in this process.",
    ]
    return "\n".join(parts) + "\n"


def write(rows, info, versions, command, md_path, json_path):
    with open(json_path, "w") as f:
        json.dump({"command": command, "machine": info, "versions": versions, "rows": rows}, f, indent=1)
    with open(md_path, "w") as f:
        f.write(markdown(rows, info, versions, command))
