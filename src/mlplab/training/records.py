"""What a training run hands back: the history of its records, the result, the checkpoint it resumes
from, the error a divergence raises.

:func:`mlplab.train` (the front door) and :class:`mlplab.training.loop.Run` (the loop) both use these;
``mlplab.train.History`` etc. stay importable from the front door.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlplab.optim.optimizers import Optimizer, OptState
from mlplab.training.budget import FORWARD_PER_GRADIENT


class DivergenceError(RuntimeError):
    """Training produced a non-finite loss or step, or E grew by more than ``diverge_factor``.

    Attributes:
        params: the last finite parameter vector w (also written back into the net).
        k: the iteration at which it happened.
        history: the history recorded so far.
    """

    def __init__(self, message, params, k, history):
        super().__init__(message)
        self.params, self.k, self.history = params, k, history


@dataclass
class History:
    """Per recorded iteration (arrays of equal length; see :func:`train`).

    Attributes:
        k: iteration index.
        epoch: samples seen / S.
        loss: E(w^k) on all samples.
        grad_norm: ‖∇E(w^k)‖₂.
        layer_grad_norms: (n_records, L) array of ‖∇_{W^ℓ}E(w^k)‖_F.
        step_size: α_k / γ_k of the step taken from w^k (NaN for the last record).
        ls_evals: line-search evaluations of E in that step, with or without its slope
            (0 without a line search).
        capped: whether the step was capped at the exact line search's alpha_max.
        unbounded: whether E was still decreasing at alpha_max along that step's direction.
        cost: sample-gradient evaluations up to w^k.
        forward_evals: sample forward passes made by line searches up to w^k
            (φ: 1 per sample, (φ, φ′): 2).
        time: seconds since the start.
        exact: whether the record's E and ‖∇E‖ are exact (all S samples) or the free
            block estimate from the steps since the previous record (``train``'s ``monitor``).

    ``grad_equivalents`` (a property) is the cost axis of the figures:
    cost + forward_evals / 3.
    """

    k: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    layer_grad_norms: list = field(default_factory=list)
    step_size: list = field(default_factory=list)
    ls_evals: list = field(default_factory=list)
    capped: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    time: list = field(default_factory=list)
    forward_evals: list = field(default_factory=list)
    unbounded: list = field(default_factory=list)
    exact: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.k)

    @property
    def grad_equivalents(self) -> np.ndarray:
        """The cost axis in sample-gradient equivalents: cost + forward_evals / FORWARD_PER_GRADIENT."""
        fwd = self.forward_evals if len(self.forward_evals) == len(self.cost) else [0] * len(self.cost)
        return np.asarray(self.cost, dtype=float) + np.asarray(fwd, dtype=float) / FORWARD_PER_GRADIENT

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every column as a NumPy array."""
        return {name: np.asarray(getattr(self, name)) for name in self.__dataclass_fields__}

    # column types for to_dict/from_dict (the rest are floats), and the columns older files lack
    _INT_COLUMNS = ("k", "ls_evals", "cost", "forward_evals")
    _BOOL_COLUMNS = ("capped", "unbounded", "exact")
    _OPTIONAL_COLUMNS = {"capped": False, "time": math.nan, "forward_evals": 0, "unbounded": False, "exact": True}

    def to_dict(self, max_rows: int | None = None) -> dict[str, list]:
        """Every column as a JSON-able list: ints, bools, floats with inf/NaN as ``None``.

        With ``max_rows``, at most that many evenly spaced records are kept (the first and the last
        among them). :meth:`from_dict` reads it back.
        """
        n = len(self)
        idx = (range(n) if max_rows is None or n <= max_rows
               else np.unique(np.linspace(0, n - 1, max_rows).round().astype(int)).tolist())

        def num(v):
            v = float(v)
            return v if math.isfinite(v) else None

        out = {}
        for name in self.__dataclass_fields__:
            col = getattr(self, name)
            if name == "layer_grad_norms":
                out[name] = [[num(v) for v in col[i]] for i in idx]
            elif name in self._INT_COLUMNS:
                out[name] = [int(col[i]) for i in idx]
            elif name in self._BOOL_COLUMNS:
                out[name] = [bool(col[i]) for i in idx]
            else:
                out[name] = [num(col[i]) for i in idx]
        return out

    @classmethod
    def from_dict(cls, columns: dict) -> "History":
        """The history that :meth:`to_dict` (or lists/arrays of the same columns) describes.

        ``None`` becomes NaN; columns that files of older versions lack get their neutral value
        (``capped``/``unbounded`` False, ``forward_evals`` 0, ``time`` NaN).

        Raises:
            ValueError: a column is missing, not numeric, or of another length than ``k``.
        """
        if not isinstance(columns, dict) or "k" not in columns:
            raise ValueError("a history needs a dict of columns with at least 'k'")
        n = len(columns["k"])
        h = cls()
        nan = math.nan
        try:
            for name in cls.__dataclass_fields__:
                col = columns.get(name)
                if col is None:
                    if name not in cls._OPTIONAL_COLUMNS:
                        raise ValueError(f"history column {name!r} is missing")
                    col = [cls._OPTIONAL_COLUMNS[name]] * n
                if len(col) != n:
                    raise ValueError(f"history column {name!r} has {len(col)} rows, 'k' has {n}")
                if name == "layer_grad_norms":
                    value = [[nan if v is None else float(v) for v in row] for row in col]
                elif name in cls._INT_COLUMNS:
                    value = [int(v) for v in col]
                elif name in cls._BOOL_COLUMNS:
                    value = [bool(v) for v in col]
                else:
                    value = [nan if v is None else float(v) for v in col]
                setattr(h, name, value)
        except TypeError as exc:
            raise ValueError(f"history column is not numeric ({exc})") from None
        return h

    # --- in Jupyter --------------------------------------------------------------------------

    def to_pandas(self):
        """One row per record: every column, ``grad_equivalents``, and ‖∇_{W^ℓ}E‖ as ``grad_norm_W1`` … ``grad_norm_WL``.

        Returns:
            pandas.DataFrame of ``len(self)`` rows.
        """
        import pandas as pd

        n = len(self)
        data = {}
        for name in self.__dataclass_fields__:
            if name == "layer_grad_norms":
                continue
            col = getattr(self, name)
            data[name] = list(col) if len(col) == n else [self._OPTIONAL_COLUMNS.get(name, math.nan)] * n
        data["grad_equivalents"] = self.grad_equivalents
        norms = np.asarray(self.layer_grad_norms, dtype=float).reshape(n, -1) if n else np.empty((0, 0))
        for ell in range(norms.shape[1]):
            data[f"grad_norm_W{ell + 1}"] = norms[:, ell]
        return pd.DataFrame(data)

    def plot(self, x: str = "k", backend: str | None = None):
        """E(w^k), ‖∇E(w^k)‖ (log scale) and the step sizes against ``x``: "k", "epoch" or "cost".

        Returns a Plotly figure, or a matplotlib one where Plotly is not installed
        (``backend="matplotlib"`` asks for it).
        """
        return _plot_histories([("", self)], x, backend)

    def _repr_html_(self) -> str:
        from mlplab import _html

        n = len(self)
        if not n:
            return "<b>History</b>: no records"
        idx = list(range(n)) if n <= 6 else [0, 1, 2, n - 3, n - 2, n - 1]
        rows = []
        for j, i in enumerate(idx):
            if n > 6 and j == 3:
                rows.append(["…"] * 7)
            rows.append([_html.num(self.k[i]), _html.num(self.epoch[i]), _html.num(self.loss[i], 6),
                         _html.num(self.grad_norm[i]), _html.num(self.step_size[i]),
                         _html.num(self.grad_equivalents[i]),
                         "exact" if (i >= len(self.exact) or self.exact[i]) else "estimate"])
        head = ["k", "epoch", "E(w^k)", "‖∇E‖", "step", "cost", "E, ∇E"]
        spark = _html.sparkline([("E", self.k, self.loss), ("‖∇E‖", self.k, self.grad_norm)],
                                label="E, ‖∇E‖:")
        return _html.side_by_side(_html.table(rows, head, title=f"History: {n} records"), spark)


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        params: copy of the final w (also in ``net.params``).
        stop_reason: "converged", "unbounded", "max_iter", "epochs", "max_cost",
            "time_limit", "callback" or "line_search_failed".
        n_iter: number of steps taken.
        epochs: samples seen / S.
        loss: E at the final w; grad_norm: ‖∇E‖₂ there.
        cost: sample-gradient evaluations (see the module docstring).
        history: :class:`History`.
        tol, rtol: the stopping tolerances used; grad_norm0: ‖∇E(w^0)‖₂, the scale of rtol.
        forward_evals: sample forward passes of line searches.
        elapsed: wall-clock seconds.
        optimizer: the optimizer used.
        opt_state: its final state; pass it back as ``train(..., opt_state=...)``
            to continue where this run stopped (schedule counter, momentum, Adam moments).
    """

    params: np.ndarray
    stop_reason: str
    n_iter: int
    epochs: float
    loss: float
    grad_norm: float
    cost: int
    history: History
    elapsed: float
    optimizer: Optimizer
    opt_state: OptState

    tol: float | None = None
    rtol: float | None = None
    grad_norm0: float = math.nan
    forward_evals: int = 0

    @property
    def converged(self) -> bool:
        return self.stop_reason == "converged"

    @property
    def grad_equivalents(self) -> float:
        """cost + forward_evals / 3 (see the module docstring)."""
        return self.cost + self.forward_evals / FORWARD_PER_GRADIENT

    def plot(self, x: str = "k", backend: str | None = None):
        """The run's history drawn: see :meth:`History.plot`."""
        return _plot_histories([(_optimizer_name(self.optimizer), self.history)], x, backend)

    def _repr_html_(self) -> str:
        from mlplab import _html

        items = [("stopped", f"{self.stop_reason} after {self.n_iter:,} steps ({self.epochs:.4g} epochs)"),
                 ("optimizer", _optimizer_name(self.optimizer)),
                 ("E(w)", _html.num(self.loss, 6)), ("‖∇E(w)‖", _html.num(self.grad_norm)),
                 ("stop rule", _stop_rule(self.tol, self.rtol, self.grad_norm0)),
                 ("cost", f"{self.cost:,} sample gradients + {self.forward_evals:,} line-search forward passes"),
                 ("time", f"{self.elapsed:.3g} s")]
        h = self.history
        spark = _html.sparkline([("E", h.k, h.loss), ("‖∇E‖", h.k, h.grad_norm)], label="E, ‖∇E‖:")
        return _html.side_by_side(_html.pairs(items, title="TrainResult"), spark)


@dataclass
class Checkpoint:
    """Everything :func:`train` needs to continue a run bit-identically (``train(..., resume=ckpt)``).

    Taken at the start of iteration k, before w^k is recorded. Arrays are copies.
    See :func:`mlplab.io.save_checkpoint` / :func:`mlplab.io.load_checkpoint`.
    """

    params: np.ndarray  # w^k
    opt_state: OptState
    k: int
    cost: int
    seen: int  # samples used by steps so far
    elapsed: float  # seconds of training before this checkpoint (for time_limit)
    rng_state: dict  # the sampling generator's bit_generator.state
    sampler_pos: int
    sampler_order: np.ndarray | None
    history: History
    forward_evals: int = 0  # sample forward passes of line searches so far
    monitor_state: dict | None = None  # the block sums since the last record (monitor "auto"/"batch")


def _optimizer_name(opt) -> str:
    name = getattr(opt, "describe", None)
    if callable(name):
        try:
            return str(name())
        except Exception:  # noqa: BLE001 - a label only
            pass
    import re

    # the line search's settings make the label long: its name says enough here
    return re.sub(r"(\w*LineSearch|Armijo)\([^()]*\)", r"\1", repr(opt))


def _stop_rule(tol, rtol, g0) -> str:
    rules = []
    if tol:
        rules.append(f"‖∇E‖ ≤ {tol:g}")
    if rtol:
        rules.append(f"‖∇E‖ ≤ {rtol:g}·‖∇E(w^0)‖ = {rtol * g0:.3g}")
    return " or ".join(rules) or "budgets only"


_X_AXES = {"k": ("k", "iteration k"), "epoch": ("epoch", "epoch"),
           "cost": ("grad_equivalents", "cost (sample-gradient equivalents)")}


def plot_backend(backend):
    if backend not in (None, "plotly", "matplotlib"):
        raise ValueError(f"backend must be 'plotly', 'matplotlib' or None, got {backend!r}")
    if backend is None:
        try:
            import plotly  # noqa: F401
            return "plotly"
        except ImportError:
            return "matplotlib"
    return backend


def _plot_histories(named, x: str, backend):
    """E, ‖∇E‖ and the step sizes of (name, History) pairs against k, epoch or cost: one figure, three panels."""
    if x not in _X_AXES:
        raise ValueError(f"x must be one of {sorted(_X_AXES)}, got {x!r}")
    attr, xlabel = _X_AXES[x]
    panels = (("loss", "E(w^k)", True), ("grad_norm", "‖∇E(w^k)‖", True), ("step_size", "step size α_k / γ_k", True))
    colors = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    backend = plot_backend(backend)
    if backend == "plotly":
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=1, cols=3, subplot_titles=[p[1] for p in panels])
        for i, (name, h) in enumerate(named):
            xs = np.asarray(h.grad_equivalents if attr == "grad_equivalents" else getattr(h, attr), dtype=float)
            for j, (col, title, _) in enumerate(panels):
                fig.add_scatter(x=xs, y=np.asarray(getattr(h, col), dtype=float), mode="lines",
                                name=name or title, legendgroup=str(i), showlegend=j == 0 and bool(name),
                                line={"color": colors[i % len(colors)]}, row=1, col=j + 1)
        for j in range(3):
            fig.update_yaxes(type="log", exponentformat="power", row=1, col=j + 1)
            fig.update_xaxes(title_text=xlabel, row=1, col=j + 1)
        fig.update_layout(height=330, margin={"l": 50, "r": 20, "t": 40, "b": 50}, template="plotly_white")
        return fig
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.3), layout="constrained")
    for i, (name, h) in enumerate(named):
        xs = np.asarray(h.grad_equivalents if attr == "grad_equivalents" else getattr(h, attr), dtype=float)
        for ax, (col, title, _) in zip(axes, panels):
            ax.plot(xs, np.asarray(getattr(h, col), dtype=float), color=colors[i % len(colors)], label=name or None)
    for ax, (_, title, _) in zip(axes, panels):
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
    if any(name for name, _ in named):
        axes[0].legend(fontsize=8)
    return fig
