"""The results of the gradient-flow analysis: per-layer factors of the lecture's bound, verdicts, tables.

For one sample, ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ′(z^ℓ))‖₂ · ‖V^{ℓ+1} ⋯ V^L δ^L‖₂ · ‖a^{ℓ−1}‖₂;
:class:`LayerFlow` holds these factors per sample (arrays of shape (S,)), :class:`Diagnosis`
the verdict on them, :class:`GradientFlow` both, with every point of a run examined.
NumPy only (HTML for Jupyter from :mod:`mlplab._html`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlplab import _html

SATURATION = 0.01  # φ′ below this fraction of max φ′: a saturated unit
THRESHOLD = 1e3  # a factor between layers that counts as vanishing / exploding
HUGE = 1e6  # a median per-sample gradient above this is exploding whatever the ratios


@dataclass
class LayerFlow:
    """Layer ℓ's factors of the lecture's bound, one entry per sample s of the batch.

    ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ^ℓ′)‖₂ · ‖V^{ℓ+1}…V^L δ^L‖₂ · ‖a^{ℓ−1}‖₂, with
    V^{ℓ+1}…V^L δ^L = δ^ℓ = ∂e/∂a^ℓ. For softmax the diagonal is replaced by
    the Jacobian's spectral norm.

    Attributes:
        layer: ℓ (1..L).
        activation: φ^ℓ's name.
        dphi_norm, delta_norm, a_prev_norm: per-sample factors (S,): ‖Diag(φ′(z^ℓ_s))‖₂,
            ‖δ^ℓ_s‖₂, ‖a^{ℓ−1}_s‖₂.
        grad_norm: per-sample ‖∇_{W^ℓ} e^s‖₂ (S,) (spectral = Frobenius for this rank-1 matrix).
        bound: per-sample product of the three factors (S,).
        batch_grad_norm: ‖Σ_s ∇_{W^ℓ} e^s‖_F on the batch (the summed gradient; not used for the verdict).
        saturated: fraction of units (over samples) with φ′(z) < 1 % of max φ′.
        chain: per-sample chain ratio ‖δ^ℓ_s‖₂ / ‖δ^L_s‖₂ (S,); NaN for samples with δ^L_s = 0
            or not finite (nothing flows back from them).
        active: (S,) bool, the samples with an error signal δ^L_s ≠ 0; the medians are taken over
            these (a sample the loss is already content with, e.g. a correctly classified one under
            the perceptron loss, sends no gradient into any layer and says nothing about the flow).
        hidden_chain: per-sample ‖δ^ℓ_s‖₂ / ‖∂e^s/∂z^L‖₂ (S,): the chain through the layers above ℓ
            without the output activation's own φ′ (a saturated output scales every layer's gradient
            alike — it is not a loss of gradient with depth); 1 at ℓ = L; NaN where ∂e/∂z^L = 0.
        error: per-sample e^s (S,) at this point (the scale a gradient is compared with to call it
            rounding noise).
    """

    layer: int
    activation: str
    dphi_norm: np.ndarray
    delta_norm: np.ndarray
    a_prev_norm: np.ndarray
    grad_norm: np.ndarray
    bound: np.ndarray
    batch_grad_norm: float
    saturated: float
    chain: np.ndarray | None = None
    active: np.ndarray | None = None
    hidden_chain: np.ndarray | None = None
    error: np.ndarray | None = None

    @property
    def holds(self) -> bool:
        """Whether ‖∇_{W^ℓ} e^s‖₂ ≤ bound for every sample (relative slack 1e-9)."""
        return bool(np.all(self.grad_norm <= self.bound * (1 + 1e-9) + 1e-300))

    def median(self, attr: str) -> float:
        """Median over the active samples of a per-sample attribute (NaN entries skipped; NaN if none is left)."""
        v = np.asarray(getattr(self, attr), dtype=float)
        if self.active is not None and self.active.any():
            v = v[self.active]
        v = v[~np.isnan(v)]
        return float(np.median(v)) if v.size else math.nan

    @property
    def n_used(self) -> int:
        """How many samples the medians are taken over (the active ones, or all when none is active)."""
        return int(self.active.sum()) if self.active is not None and self.active.any() else self.grad_norm.size

    @property
    def median_grad(self) -> float:
        """Median over the samples of ‖∇_{W^ℓ} e^s‖₂ — the bar drawn for the layer and the verdict's basis."""
        return self.median("grad_norm")

    @property
    def median_chain(self) -> float:
        """Median over the samples of ‖δ^ℓ_s‖ / ‖δ^L_s‖ (the lecture's chain V^{ℓ+1}…V^L relative to δ^L)."""
        return self.median("chain") if self.chain is not None else math.nan


@dataclass
class Diagnosis:
    """Verdict on the gradient flow.

    Attributes:
        kind: "vanishing", "exploding" or "healthy".
        layer: the layer the verdict names first: the one closest to the output among
            ``layers`` ("from layer ℓ down"), or None.
        ratio: median per-sample ‖∇_{W^1} e‖ / median per-sample ‖∇_{W^L} e‖
            (for the list form: ‖∇_{W^1}E‖ / ‖∇_{W^L}E‖ of the summed gradient).
        message: a sentence for people, with the numbers it was decided from.
        layers: every layer the verdict names (1-based).
        grad_median: per layer ℓ = 1..L, the median over the samples of ‖∇_{W^ℓ} e^s‖₂.
        chain: per layer, the median over the samples of ‖δ^ℓ_s‖ / ‖δ^L_s‖ (NaN when unknown).
        point: where the verdict was measured ("w", "w^0", "the final w", ...).
        basis: "per-sample" (medians over the samples, what mlplab shows) or
            "summed gradient" (the list form: per-layer norms of Σ_s ∇e^s only).
        threshold: the factor that counts as vanishing / exploding.
    """

    kind: str
    layer: int | None
    ratio: float
    message: str
    layers: tuple[int, ...] = ()
    grad_median: tuple[float, ...] = ()
    chain: tuple[float, ...] = ()
    point: str = "w"
    basis: str = "per-sample"
    threshold: float = THRESHOLD

    def _repr_html_(self) -> str:
        rows = [[str(ell + 1), _html.num(g), _html.num(c, 3)] for ell, (g, c) in
                enumerate(zip(self.grad_median, self.chain or (None,) * len(self.grad_median)))]
        head = _html.pairs([("verdict", self.kind + (f" (from layer {self.layer})" if self.layer else "")),
                            ("at", self.point), ("why", self.message)], title="gradient-flow diagnosis")
        return head + (_html.table(rows, ["layer ℓ", "median ‖∇_{W^ℓ} e‖", "median ‖δ^ℓ‖/‖δ^L‖"]) if rows else "")


@dataclass
class FlowPoint:
    """The per-sample factors at one point of a run and the verdict there.

    Attributes:
        label: "w", "w^0", "the final w", or "w^k (record i)".
        index: the row of the trajectory (None when w was given directly).
        layers: the :class:`LayerFlow` of every layer at this point.
        diagnosis: the verdict at this point alone.
    """

    label: str
    index: int | None
    layers: list[LayerFlow]
    diagnosis: Diagnosis


@dataclass
class GradientFlow:
    """Factors of the lecture's bound per layer and sample, and the verdict.

    Attributes:
        layers: the :class:`LayerFlow` s at the point the verdict is about
            (``diagnosis.point``: the final w unless only an earlier point of the
            trajectory shows a problem) — what the charts draw beside the verdict.
        diagnosis: the :class:`Diagnosis`.
        points: every point examined (w^0 … the final w), each with its own verdict.
    """

    layers: list[LayerFlow]
    diagnosis: Diagnosis
    points: list[FlowPoint] = field(default_factory=list)

    def table(self) -> list[dict]:
        """One dict per layer with the per-sample medians at ``diagnosis.point`` (for reports)."""
        return [{"layer": f.layer, "activation": f.activation,
                 "median ||Diag(phi')||": f.median("dphi_norm"), "median ||delta^l||": f.median("delta_norm"),
                 "median chain ||delta^l||/||delta^L||": f.median_chain,
                 "median ||a^(l-1)||": f.median("a_prev_norm"), "median ||grad_W e||": f.median_grad,
                 "median bound": f.median("bound"), "bound holds": f.holds,
                 "||grad_W E|| (batch sum)": f.batch_grad_norm, "saturated": f.saturated} for f in self.layers]

    def _repr_html_(self) -> str:
        d = self.diagnosis
        rows = [[str(f.layer), f.activation, _html.num(f.median("dphi_norm"), 3), _html.num(f.median("delta_norm"), 3),
                 _html.num(f.median("a_prev_norm"), 3), _html.num(f.median_grad, 3), _html.num(f.median("bound"), 3),
                 "yes" if f.holds else "NO", f"{f.saturated:.0%}"] for f in self.layers]
        head = ["ℓ", "φ", "‖Diag(φ′)‖", "‖δ^ℓ‖", "‖a^{ℓ−1}‖", "‖∇_{W^ℓ} e‖", "bound", "holds", "saturated"]
        spark = _html.sparkline([("median ‖∇_{W^ℓ} e‖", [f.layer for f in self.layers],
                                  [f.median_grad for f in self.layers])], label="‖∇_{W^ℓ} e‖:", xlabel="ℓ")
        verdict = _html.pairs([("verdict", d.kind + (f" (from layer {d.layer})" if d.layer else "")),
                               ("at", d.point), ("why", d.message)], title="GradientFlow")
        return verdict + _html.side_by_side(
            _html.table(rows, head, title="medians over the samples: ‖∇_{W^ℓ} e‖ ≤ ‖Diag(φ′)‖ ‖δ^ℓ‖ ‖a^{ℓ−1}‖"), spark)
