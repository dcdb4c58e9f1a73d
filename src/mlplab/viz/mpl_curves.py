"""Curves over the iterations as matplotlib figures: E − E* against cost or k, ‖∇E(w^k)‖, the step sizes."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from mlplab.viz.iterates import gap_split, step_label, thin_indices
from mlplab.viz.mpl_base import caption, log_axis
from mlplab.viz.notation import pretty
from mlplab.viz.style import FEW_POINTS, run_color, run_dash, run_marker
from mlplab.viz.words import CAPTIONS, COST_LABEL, GRAD_NORM, STEP_TITLE

__all__ = ["convergence", "grad_norms", "step_sizes"]


def _err(run, comp) -> np.ndarray:
    """E(w^k) − E* per record, NaN where it is not positive (a log axis cannot show it)."""
    e = np.asarray(run.history.loss, dtype=float) - comp.E_ref
    return np.where(e > 0, e, np.nan)


def convergence(comp, x: str = "cost") -> Figure:
    """E(w^k) − E* against ``x`` = "cost" (sample-gradient equivalents) or "k": log-log (against 1 + x, so
    the start shows) and semi-log; the fitted rates on the k axis; the budget line on the cost axis."""
    if x not in ("cost", "k"):
        raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
    fig = Figure(figsize=(12, 5))
    axes = fig.subplots(1, 2)
    xlabel = COST_LABEL if x == "cost" else "iteration k"
    for ax, scale in zip(axes, ("log-log", "semi-log")):
        shift = 1.0 if scale == "log-log" else 0.0
        for i, run in enumerate(comp.runs):
            h = run.history
            ix = thin_indices(len(h))
            xs = (np.asarray(h.grad_equivalents, dtype=float) if x == "cost" else np.asarray(h.k, dtype=float))[ix]
            label = pretty(run.name) + (f" — {pretty(run.rate.describe())}" if run.rate is not None and x == "k" else "")
            err, by_ref = gap_split(comp, _err(run, comp)[ix])
            few = len(h) <= FEW_POINTS  # few records: mark each, so a short run is not read as a line
            ax.plot(xs + shift, err, ls=run_dash(i), marker=run_marker(i) if few else None, ms=5, color=run_color(i),
                    lw=1.5, label=label, gid="data")
            if np.isfinite(by_ref).any():  # within 10 Δ of E* = the runs' own best E: set by E*, drawn faint
                ax.plot(xs + shift, by_ref, ":", marker=".", ms=3, color=run_color(i), lw=1, alpha=0.4, gid="by-ref",
                        label="E − E* < 10 Δ: set by E*" if scale == "log-log" and not any(
                            ln.get_gid() == "by-ref" for ln in ax.get_lines()[:-1]) else None)
            if x == "k" and run.rate is not None and run.rate.fits:  # only a fit that fits is drawn
                lo, hi = run.rate.window
                kk = np.linspace(max(lo, 1), hi, 50)
                fit = (run.rate.C * run.rate.q ** kk if run.rate.kind == "linear" else run.rate.C * kk ** -run.rate.p)
                ax.plot(kk + shift, fit, "-", color=run_color(i), lw=6, alpha=0.25, gid="fit")  # a band under the data
        if x == "cost" and comp.budget is not None:
            ax.axvline(comp.budget + shift, color="k", ls="--", lw=1, label="budget" if scale == "log-log" else None,
                       gid="budget")
        ax.set_yscale("log")
        if scale == "log-log":
            ax.set_xscale("log")
            log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel(("1 + " if shift else "") + xlabel, fontsize=8 if x == "cost" else 10)
        ax.set_ylabel(pretty("E(w^k) − E*"))
        ax.set_title(f"{scale}: E − E* against {'1 + ' if shift else ''}{'cost' if x == 'cost' else 'k'}")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()  # a run's label carries its rate: wrapped to the panel
    axes[0].legend(handles, [textwrap.fill(t, 80) for t in labels], fontsize=7, loc="lower left")
    fig.suptitle(f"Convergence; {pretty(comp.E_ref_note)}", fontsize=8, wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    caption(fig, "convergence_cost" if x == "cost" else "convergence_k",
             "E − E* on log axes (left, against 1 + cost so the start shows) and semi-log (right)."
             + (CAPTIONS["budget"] if comp.budget is not None else "") if x == "cost" else None)
    return fig


def grad_norms(comp) -> Figure:
    """‖∇E(w^k)‖ over k (semi-log)."""
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):
        ix = thin_indices(len(run.history))
        few = len(run.history) <= FEW_POINTS
        ax.semilogy(np.asarray(run.history.k)[ix], np.asarray(run.history.grad_norm, dtype=float)[ix],
                    ls=run_dash(i), marker=run_marker(i) if few else None, ms=4, color=run_color(i),
                    label=pretty(run.name))
    log_axis(ax, "y")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(pretty(GRAD_NORM))
    ax.set_title("Gradient norm over the iterations")
    ax.legend(fontsize=7)
    caption(fig, "grad_norm")
    return fig


def step_sizes(comp) -> Figure:
    """Step sizes α_k (line search) / γ_k (schedule) over k + 1 (log-log)."""
    fig = Figure(figsize=(7, 4.3))
    ax = fig.add_subplot()
    for i, run in enumerate(comp.runs):  # dash and marker per run: identical γ_k lines stay told apart
        ix = thin_indices(len(run.history))
        n = len(ix)
        lab = pretty(step_label(run))
        ax.loglog(np.asarray(run.history.k)[ix] + 1, np.asarray(run.history.step_size, dtype=float)[ix],
                  ls=run_dash(i), marker=run_marker(i), ms=6 if n <= FEW_POINTS else 4, markevery=max(1, n // 25),
                  mfc="none", lw=1.5 + 0.8 * (i == 0), color=run_color(i), label=f"{pretty(run.name)} ({lab})")
    log_axis(ax, "y")
    log_axis(ax, "x")
    ax.set_xlabel("k + 1")
    ax.set_ylabel("step size")
    ax.set_title(pretty(STEP_TITLE))
    ax.legend(fontsize=7)
    caption(fig, "step_sizes")
    return fig
