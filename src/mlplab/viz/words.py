"""What the figures say: the cost axis, the formulas, the verdict words, the captions.

Formulas are written once in the lecture's notation and turned into each
target's text by :mod:`mlplab.viz.notation` (``html_math`` for Plotly,
``mathtext`` for matplotlib, ``pretty`` for Unicode). Imports nothing, so
:mod:`mlplab.compare` can name :data:`COST_LABEL` too.
"""

from __future__ import annotations

__all__ = ["COST_LABEL", "GRAD_NORM", "STEP_TITLE", "LAYER_GRAD", "DELTA_CHAIN", "SAMPLE_GRAD", "BOUND", "DPHI",
           "QUARTER", "SIGMA_QUARTER", "unit_label", "VERDICT_WORDS", "span_text", "CAPTIONS"]

# the cost axis of every figure, with its rule (see mlplab.training.budget: FORWARD_PER_GRADIENT)
COST_LABEL = "cost: sample-gradient equivalents (gradients + line-search forward passes / 3)"

# --- formulas (the lecture's notation) ------------------------------------------------------------

GRAD_NORM = "‖∇E(w^k)‖₂"
STEP_TITLE = "Step sizes α^k (line search) and γ_k (schedule)"
LAYER_GRAD = "‖∇_{W^ℓ}E‖_F"
DELTA_CHAIN = "‖δ^ℓ‖ = ‖V^{ℓ+1}⋯V^Lδ^L‖"
SAMPLE_GRAD = "‖∇_{W^ℓ}e‖"
BOUND = "‖Diag(φ′)‖·‖δ^ℓ‖·‖a^{ℓ−1}‖"
DPHI = "‖Diag(φ′)‖"
QUARTER = "(¼)^{L−ℓ}·‖δ^L‖"
SIGMA_QUARTER = "σ′ ≤ ¼"



def unit_label(ell: int, i: int) -> str:
    """Hidden unit i of layer ℓ: 'a^{ℓ}_{i}'."""
    return f"a^{{{ell}}}_{{{i}}}"


VERDICT_WORDS = {"vanishing": "vanishing gradients", "exploding": "exploding gradients",
                 "healthy": "no vanishing or exploding gradients"}


def span_text(layers) -> str:
    """'layers 2–4' for a run of layers, else 'layer 3' / 'layers 1, 3'."""
    layers = sorted(layers)
    if len(layers) > 1 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}–{layers[-1]}"
    return ("layer " if len(layers) == 1 else "layers ") + ", ".join(map(str, layers))


# --- captions ----------------------------------------------------------------------------------------

CAPTIONS = {
    "surface_3d": "Drag to rotate; the slider moves each run's ● along its path; hover a path point for k, E, ‖∇E‖ "
                  "and the step size.",
    "contour": "Hover a path point for k, E, ‖∇E‖ and the step size; arrows show the direction of travel; the slider "
               "moves each run's large marker.",
    "slice_1d": "E along the first direction of the plane through the final w (a = 0): its curvature there.",
    "infimum": "The smallest E on each circle ‖w‖ = r keeps falling as r grows: E has no minimiser, only the "
               "infimum 0 at ‖w‖ → ∞; ★ each run's final w.",
    "convergence_cost": "E − E* on log axes (left, 1 + cost so the start shows) and semi-log (right); the slider "
                        "moves the cursors.",
    "budget": " The dashed vertical line is the budget every run is held to.",
    "convergence_k": "E − E* over the iterations; wide faint lines are fitted rates (only on ≥ 5 points and only "
                     "where a law fits); a straight line is linear convergence on the right, a power law on the "
                     "left. Where E* is the runs' own best E, the last records within 10 Δ of E* are drawn "
                     "faint: there the gap is set by E*, not by the run.",
    "grad_norm": "‖∇E(wᵏ)‖ on all samples at each record; it need not fall monotonically for SGD.",
    "step_sizes": "The step taken from wᵏ: αᵏ found by the line search, γₖ from the schedule; identical schedules "
                  "overlap — told apart by dash and marker.",
    "layer_bars": "The gradient norm of each layer's weights, ‖∂E/∂Wˡ‖ at wᵏ (all samples), at the slider's iterate.",
    "layer_grad_norms": "The gradient norm of each layer's weights, ‖∂E/∂Wˡ‖, over the iterations of the run this "
                        "section is about.",
    "layer_heatmap": "The same per-layer gradient norms as colours: a dark band at the first layers is a "
                     "vanishing gradient.",
    "gradient_flow": "Per-sample medians against depth on a log axis — the numbers the verdict above is decided "
                     "from; a line falling to the left is a vanishing gradient.",
    "decision_boundary": "Background ŷ(x) (blue 0 … red 1), the black line ŷ = 0.5, data coloured by class; the "
                         "slider shows the boundary at that iterate.",
    "hidden_units": "What each hidden unit aˡᵢ computes over the input plane at the final w (as TensorFlow "
                    "Playground shows it); every map of one activation on that activation's one fixed scale "
                    "(its colour bar: tanh −1 … 1, sigmoid 0 … 1).",
}
