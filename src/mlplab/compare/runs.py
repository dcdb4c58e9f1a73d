"""One optimizer's :class:`Run` and a :class:`Comparison` of runs from one w^0 (the numbers, a table)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mlplab import _html, analysis
from mlplab.objective import Problem
from mlplab.training.records import plot_backend
from mlplab.viz.words import COST_LABEL

__all__ = ["Run", "Comparison", "COST_LABEL"]


@dataclass
class Run:
    """One optimizer's run.

    Attributes:
        name: label.
        optimizer: the optimizer.
        result: the :class:`mlplab.TrainResult`.
        trajectory: (n_records, d) iterates w^k, aligned with ``result.history``.
        net: the trained copy of the network.
        rate: :class:`mlplab.analysis.RateFit` of E − E_ref over k (None if too few points).
        rate_note: why ``rate`` is None, as the table shows it ("n/a (fewer than 5 points)").
        theory: the lecture's statement for this method.
        stop: :class:`mlplab.analysis.StationaryPoint` at the final w, judged against the
            run's ‖∇E(w^0)‖ (None for nets above ``hessian_max_d`` parameters).
    """

    name: str
    optimizer: object
    result: object
    trajectory: np.ndarray
    net: object
    rate: analysis.RateFit | None = None
    theory: str = ""
    stop: analysis.StationaryPoint | None = None
    rate_note: str = "n/a"  # what the table says when ``rate`` is None (and why)
    budget_note: str = ""  # set when a step was cut off at the budget (see hold_to_budget)

    @property
    def history(self):
        return self.result.history


@dataclass
class Comparison:
    """Runs of several optimizers on one problem, from one w^0.

    Attributes:
        runs: the :class:`Run` s.
        problem: the :class:`mlplab.Problem` (network architecture, X, Y, loss).
        w0: the common starting point.
        budget: cost budget per run (sample-gradient equivalents), or None.
        E_ref: E* used for E − E* (given, the known infimum, or the best E seen by any run
            less a margin: see :func:`reference_below_best`).
        E_ref_note: where E_ref comes from.
        config: the settings, for reports.
        gradient_flow: :class:`mlplab.analysis.GradientFlow` of the run ``flow_run`` (the first
            run that took a step), per sample, at its w^0 and its final w (the verdict and the
            factors drawn beside it).
        title: a heading.
        start_label: what the first point of the paths is ("w^0"; "w (saved)" for a saved
            model without a history, whose only point is its final weights).
        notes: sentences the report shows under its title.
    """

    runs: list[Run]
    problem: Problem
    w0: np.ndarray
    budget: int | None
    E_ref: float
    E_ref_note: str
    config: dict = field(default_factory=dict)
    gradient_flow: analysis.GradientFlow | None = None
    title: str = "mlplab comparison"
    start_label: str = "w^0"
    notes: list = field(default_factory=list)
    flow_run: int = 0  # the run gradient_flow (and the per-layer figures) are about

    @property
    def is_toy(self) -> bool:
        """Two parameters: the (w_1, w_2) plane is the whole parameter space."""
        return self.problem.d == 2

    def table(self) -> list[dict]:
        """One row per run: final E, ‖∇E‖, steps, cost, stop reason, fitted rate, theory, verdict."""
        rows = []
        for r in self.runs:
            res = r.result
            rows.append({
                "method": r.name, "E(w)": res.loss, "||grad E||": res.grad_norm, "steps": res.n_iter,
                "cost": float(res.grad_equivalents), "sample gradients": res.cost,
                "forward passes": res.forward_evals,
                "stopped": "budget" if res.stop_reason == "max_cost" else res.stop_reason,
                "fitted rate": r.rate.describe() if r.rate is not None else r.rate_note,
                "lecture": r.theory,
                "where it stopped": r.stop.verdict if r.stop is not None else "n/a",
            })
        return rows

    def plot(self, x: str = "cost", backend: str | None = None):
        """E − E* of every run against ``x`` ("cost": sample-gradient equivalents, or "k").

        Returns a Plotly figure (the report's), or a matplotlib one where Plotly is not
        installed (``backend="matplotlib"`` asks for it).
        """
        if x not in ("cost", "k"):
            raise ValueError(f"x must be 'cost' or 'k', got {x!r}")
        if plot_backend(backend) == "plotly":
            from mlplab.viz.plotly_curves import convergence  # (Plotly: imported on demand)

            return convergence(self, x)
        from mlplab.viz.mpl_curves import convergence  # (matplotlib: imported on demand)

        return convergence(self, x)

    def _repr_html_(self) -> str:
        rows = [[r["method"], _html.num(r["E(w)"]), _html.num(r["||grad E||"]), _html.num(r["steps"]),
                 _html.num(r["cost"], 6), r["stopped"], r["fitted rate"], r["where it stopped"]] for r in self.table()]
        head = ["method", "E(w)", "‖∇E‖", "steps", "cost", "stopped", "fitted rate", "where it stopped"]
        spark = _html.sparkline(
            [(r.name, r.history.grad_equivalents, np.asarray(r.history.loss, dtype=float) - self.E_ref)
             for r in self.runs], label="E − E*:", xlabel="cost", width=300, height=90)
        note = f"<div style='font-size:11px;color:#555'>{_html.esc(self.E_ref_note)}</div>"
        return _html.side_by_side(_html.table(rows, head, title=self.title) + note, spark)
