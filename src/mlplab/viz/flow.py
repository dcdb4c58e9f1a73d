"""Gradient flow against depth: the numbers the gradient-flow figures draw and the verdict is decided from.

:func:`flow_lines` takes the per-sample medians of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖, the
lecture's bound ‖Diag(φ′)‖ ‖δ^ℓ‖ ‖a^{ℓ−1}‖ and its factors from the
comparison's :class:`mlplab.analysis.GradientFlow`, per layer ℓ = 1…L.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FlowLines", "CANONICAL_PAIRS", "output_saturation_harmless", "flow_lines"]


@dataclass
class FlowLines:
    """Per-sample medians against the layer ℓ at the point the verdict is about.

    Attributes:
        run: the run the flow is of (the first); point: where ("the final w", ...).
        layers: ℓ = 1…L.
        delta, grad, bound, dphi, a_prev: medians over the samples of ‖δ^ℓ‖, ‖∇_{W^ℓ} e‖,
            the lecture's bound, ‖Diag(φ′)‖ and ‖a^{ℓ−1}‖.
        quarter: for sigmoid hidden layers, median ‖δ^L‖ · (¼)^(L−ℓ) — what σ′ ≤ ¼ alone
            allows through L − ℓ layers with unit weights; None otherwise.
        saturation: per layer, the % of units with φ′ < 1 % of its max.
        output_harmless: the output layer's saturation does not shrink δ (its loss and
            activation pair cancel φ′, e.g. sigmoid + cross-entropy).
        verdict: the diagnosis message; kind: "vanishing", "exploding" or "healthy".
        n_samples: how many samples the medians are over.
    """

    run: object
    point: str
    layers: np.ndarray
    delta: np.ndarray
    grad: np.ndarray
    bound: np.ndarray
    dphi: np.ndarray
    a_prev: np.ndarray
    quarter: np.ndarray | None
    saturation: list
    output_harmless: bool
    verdict: str
    kind: str
    named: tuple
    n_samples: int

    def saturation_text(self) -> str:
        """'saturated units (φ′ < 1 % of its max): layer 1: 0 %, …, output layer 2: 12 % (harmless: …)'."""
        parts = []
        L = len(self.layers)
        for ell, s in zip(self.layers, self.saturation):
            txt = f"layer {ell}: {s:.0f} %"
            if ell == L:
                txt = f"output layer {ell}: {s:.0f} %"
                if s > 0:
                    txt += (" (harmless: with this loss and output the gradient at the output is ŷ − y, "
                            "φ′ cancels)" if self.output_harmless else
                            " (not harmless: with this loss and output ∂e/∂z^L = Diag(φ′(z^L)) δ^L, so a "
                            "saturated output passes almost no gradient back even where ŷ is wrong)")
            parts.append(txt)
        return "saturated units (φ′ < 1 % of its max): " + ", ".join(parts)


# (loss, output activation) pairs whose ∂e/∂z^L = ŷ − y: the output's φ′ cancels (canonical links). The
# lecture's sigmoid + squared error is not one of them: there ∂e/∂z^L = 2(ŷ − y) σ′(z^L) (mlplab.losses).
CANONICAL_PAIRS = frozenset({("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax"), ("poisson", "exp"),
                             ("squared", "identity")})


def output_saturation_harmless(loss: str, output_activation: str) -> bool:
    """Whether a saturated output unit leaves the gradient alone: only for the canonical pairs, where
    ∂e/∂z^L = ŷ − y does not pass through φ′ (not for sigmoid + squared error)."""
    return (loss, output_activation) in CANONICAL_PAIRS


def flow_lines(comp) -> FlowLines | None:
    """The gradient-flow figure's numbers (the same the verdict is decided from); None without a flow."""
    flow = comp.gradient_flow
    if flow is None or not flow.layers:
        return None
    fl = flow.layers
    ell = np.array([f.layer for f in fl])
    med = {attr: np.array([f.median(attr) for f in fl], dtype=float)
           for attr in ("delta_norm", "grad_norm", "bound", "dphi_norm", "a_prev_norm")}
    net = comp.problem.net
    acts = [a.name for a in net.activations]
    L = len(fl)
    quarter = None
    if L > 1 and all(a == "sigmoid" for a in acts[:-1]):
        quarter = med["delta_norm"][-1] * 0.25 ** (L - ell)
    harmless = output_saturation_harmless(comp.problem.loss.name, acts[-1])
    d = flow.diagnosis
    return FlowLines(comp.runs[comp.flow_run], d.point, ell, med["delta_norm"], med["grad_norm"], med["bound"], med["dphi_norm"],
                     med["a_prev_norm"], quarter, [100 * f.saturated for f in fl], harmless, d.message, d.kind,
                     tuple(d.layers), fl[-1].n_used)

