"""Gradient flow: the lecture's bound on each layer's weight gradient, sample by sample.

For one sample (x, y), with δ^ℓ = ∂e/∂a^ℓ and V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)):

    ∇_{W^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ (a^{ℓ−1})ᵀ,      δ^ℓ = V^{ℓ+1} ⋯ V^L δ^L,
    ‖∇_{W^ℓ} e‖₂ ≤ ‖Diag(φ′(z^ℓ))‖₂ · ‖V^{ℓ+1} ⋯ V^L δ^L‖₂ · ‖a^{ℓ−1}‖₂.

"If V^{ℓ+1} ⋯ V^L δ^L leads to large values, ∇_{W^ℓ} e can become large
(exploding gradients); if it leads to small values, ∇_{W^ℓ} e can approach zero
(vanishing gradients)." :func:`gradient_flow` computes the three factors, the
gradient norm and the chain ratio

    c^ℓ = ‖V^{ℓ+1} ⋯ V^L δ^L‖₂ / ‖δ^L‖₂ = ‖δ^ℓ‖₂ / ‖δ^L‖₂

for every layer and every sample; :func:`diagnose_gradients` decides from
robust statistics of these per-sample numbers (medians over the samples) —
not from the summed gradient Σ_s ∇e^s, in which the samples' gradients cancel
near a stationary point while each sample's gradient still shows the decay.

NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mlplab.losses import output_error
from mlplab.objective import Problem

SATURATION = 0.01
THRESHOLD = 1e3
HUGE = 1e6
ROUNDING = 1e-8  # a per-sample gradient this many times below the per-sample error e^s is rounding noise


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
        from mlplab import _html

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
        from mlplab import _html

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


# --- the factors ---------------------------------------------------------------------------


def layer_flows(net, problem: Problem, w, saturation: float = SATURATION) -> list[LayerFlow]:
    """The factors of the bound for every layer and sample of ``problem`` at w (unweighted e^s).

    Uses the network's own batched forward pass and backward recursion
    (:meth:`mlplab.MLP.backprop`); δ^ℓ = V^{ℓ+1}…V^L δ^L is recovered as
    ∂e/∂z^{ℓ+1} W^{ℓ+1} (and δ^L = ∂e/∂ŷ).
    """
    w = np.asarray(w, dtype=net.dtype)
    with np.errstate(all="ignore"):  # overflow is reported (non-finite norms), not raised
        Zs, As = net.forward_cache(problem.X, w)
        weights, _ = net.unpack(w)
        out_act = net.activations[-1]
        _, dz_L = output_error(problem.loss, out_act, problem.Y, Zs[-1], As[-1])
        delta_L = problem.loss.grad(problem.Y, As[-1])
        L = net.n_layers
        flows: list[LayerFlow | None] = [None] * L
        dz_next = None
        delta_L_norm = None
        dz_L_norm = np.linalg.norm(dz_L, axis=1)
        form = problem.loss.logit_forms.get(out_act.name)
        errors = np.asarray(form.value(problem.Y, Zs[-1]) if form is not None else problem.loss.value(problem.Y, As[-1]),
                            dtype=float).reshape(-1)
        zok = np.isfinite(dz_L_norm) & (dz_L_norm > 0)
        for ell, dz, a_prev in net.backprop((Zs, As), dz_L, w):
            act = net.activations[ell - 1]
            delta = delta_L if ell == L else dz_next @ weights[ell]  # δ^ℓ = V^{ℓ+1} δ^{ℓ+1}
            if act.elementwise:
                dphi = act.dphi(Zs[ell - 1], As[ell])
                dphi_norm = np.max(np.abs(dphi), axis=1)  # ‖Diag(φ′)‖₂ = max |φ′|
                sat = float(np.mean(np.abs(dphi) < saturation * act.dphi_max))
            else:  # softmax: the Jacobian Diag(a) − a aᵀ
                a = As[ell]
                J = np.einsum("si,ij->sij", a, np.eye(a.shape[1])) - a[:, :, None] * a[:, None, :]
                dphi_norm = np.linalg.norm(J, ord=2, axis=(1, 2))
                sat = float(np.mean(np.diagonal(J, axis1=1, axis2=2) < saturation * act.dphi_max))
            if ell == L and out_act.name in problem.loss.logit_forms:
                # δ^L = ∂e/∂ŷ is infinite where ŷ rounds to 0 or 1 while Diag(φ′) δ^L (from the logits)
                # is finite: there, ‖dz‖ / ‖Diag(φ′)‖ ≤ ‖δ^L‖ keeps the bound finite (and tight)
                delta_norm = np.linalg.norm(delta, axis=1)
                fallback = np.linalg.norm(dz, axis=1) / np.maximum(dphi_norm, 1e-300)
                delta_norm = np.where(np.isfinite(delta_norm), delta_norm, fallback)
            else:
                delta_norm = np.linalg.norm(delta, axis=1)
            if ell == L:
                delta_L_norm = delta_norm
            ok = np.isfinite(delta_L_norm) & (delta_L_norm > 0)
            chain = np.where(ok, delta_norm / np.where(ok, delta_L_norm, 1.0), np.nan)  # ‖δ^ℓ‖ / ‖δ^L‖
            active = delta_L_norm != 0  # samples with an error signal (non-finite ones included)
            a_norm = np.linalg.norm(a_prev, axis=1)
            g_norm = np.linalg.norm(dz, axis=1) * a_norm  # ‖dz aᵀ‖₂ = ‖dz‖ ‖a‖ (rank one)
            batch = float(np.linalg.norm(dz.T @ a_prev))
            hidden = (np.ones_like(dz_L_norm) if ell == L else
                      np.where(zok, delta_norm / np.where(zok, dz_L_norm, 1.0), np.nan))  # ‖δ^ℓ‖ / ‖∂e/∂z^L‖
            flows[ell - 1] = LayerFlow(ell, act.name, dphi_norm, delta_norm, a_norm, g_norm,
                                       dphi_norm * delta_norm * a_norm, batch, sat, chain, active, hidden, errors)
            dz_next = dz
    return flows


def _pick_rows(n: int, max_points: int) -> list[int]:
    """Rows of a trajectory to examine: the first (w^0), the last, and evenly spaced ones between."""
    if n <= 1 or max_points <= 1:
        return [n - 1]
    return sorted(set(np.linspace(0, n - 1, min(n, max(2, max_points))).round().astype(int).tolist()))


def gradient_flow(net, X, Y, loss="squared", w=None, saturation: float = SATURATION, *, trajectory=None,
                  history=None, max_points: int = 2, threshold: float = THRESHOLD, huge: float = HUGE,
                  ks=None) -> GradientFlow:
    """The three factors of the lecture's bound, per layer and sample, and the verdict on them.

    Args:
        net: the network; X (S, N_0), Y: the batch; loss: its name.
        w: the point (default ``net.params``; with ``trajectory``: its last row).
        saturation: φ′ below this fraction of max φ′ counts as saturated.
        trajectory: optional (n_records, d) iterates w^0 … w^K of the run (e.g.
            :meth:`TrajectoryRecorder.finish`); w^0, the final w and up to
            ``max_points`` − 2 evenly spaced records between are examined.
        history: optional (n_records, L) recorded norms ‖∇_{W^ℓ}E(w^k)‖ of the
            summed gradient (``result.history.layer_grad_norms``): a layer whose
            norm became non-finite or grew by more than ``threshold`` counts as exploding.
        threshold, huge: see :func:`diagnose_gradients`.
        ks: iteration numbers k of the trajectory's rows (for the labels).

    Returns:
        :class:`GradientFlow`: the factors at the point the verdict is about
        (the final w, unless only an earlier point shows the problem), the
        verdict, and every examined point.
    """
    problem = Problem(net, X, Y, loss)
    if trajectory is None:
        W = np.atleast_2d(np.asarray(net.params if w is None else w, dtype=net.dtype))
        labels, rows = ["w"], [None]
    else:
        T = np.atleast_2d(np.asarray(trajectory, dtype=net.dtype))
        if T.shape[1] != net.n_params:
            raise ValueError(f"trajectory must have d = {net.n_params} columns, got shape {T.shape}")
        if w is not None:
            T = np.vstack([T, np.asarray(w, dtype=net.dtype)[None]])
        rows = _pick_rows(len(T), max_points)
        W = T[rows]
        labels = []
        for r in rows:
            if r == len(T) - 1:
                labels.append("the final w" if len(T) > 1 else "w")
            elif r == 0:
                labels.append("w^0")
            else:
                labels.append(f"w^{ks[r]}" if ks is not None and r < len(ks) else f"record {r} of the trajectory")
    points = []
    for label, row, wi in zip(labels, rows, W):
        flows = layer_flows(net, problem, wi, saturation)
        points.append(FlowPoint(label, row, flows, _diagnose_flows(flows, threshold, huge, label)))
    diag, shown = _combine(points, history, threshold)
    return GradientFlow(shown.layers, diag, points)


# --- the verdict --------------------------------------------------------------------------------


def _span(layers) -> str:
    """"layer 3", "layers 1–4", "layers 1, 3 and 5"."""
    layers = sorted(layers)
    if len(layers) == 1:
        return f"layer {layers[0]}"
    if layers == list(range(layers[0], layers[-1] + 1)):
        return f"layers {layers[0]}–{layers[-1]}"
    return "layers " + ", ".join(map(str, layers[:-1])) + f" and {layers[-1]}"


def _g(v) -> str:
    return f"{v:.2g}" if math.isfinite(v) else str(v)


def _saturation_note(saturated) -> str:
    if saturated is None:
        return ""
    return " Saturated units (φ′ < 1% of its max) per layer: " + ", ".join(f"{s:.0%}" for s in saturated) + "."


def _diagnose_flows(flows: list[LayerFlow], threshold: float, huge: float, point: str) -> Diagnosis:
    """The per-sample verdict at one point (see :func:`diagnose_gradients`)."""
    L = len(flows)
    g = np.array([f.median_grad for f in flows])
    c = np.array([f.median_chain for f in flows])
    S = flows[-1].n_used
    sat = _saturation_note([f.saturated for f in flows])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = g / g[-1]  # median ‖∇_{W^ℓ} e‖ relative to the output layer's
    ratio = float(rel[0]) if np.isfinite(rel[0]) else (math.inf if g[0] > 0 and g[-1] == 0 else math.nan)
    grads = ", ".join(f"{_g(v)}" for v in g)
    h = np.array([f.median("hidden_chain") if f.hidden_chain is not None else c[i] for i, f in enumerate(flows)])
    measured = (f"median over the {S} samples of ‖∇_{{W^1}} e‖₂: {grads}" if L == 1 else
                f"median over the {S} samples of ‖∇_{{W^ℓ}} e‖₂ for ℓ = 1…{L}: {grads}"
                + ("" if L == 1 else "; of the chain ‖V^{ℓ+1}…V^L δ^L‖/‖δ^L‖ = ‖δ^ℓ‖/‖δ^L‖: "
                   + ", ".join(_g(v) for v in c)
                   + "; of the chain without the output's φ′, ‖δ^ℓ‖/‖∂e/∂z^L‖: " + ", ".join(_g(v) for v in h)))
    common = dict(grad_median=tuple(float(v) for v in g), chain=tuple(float(v) for v in c), point=point,
                  basis="per-sample", threshold=threshold)

    # the scale of a gradient that is rounding noise: ROUNDING times the median per-sample error e^s
    e_med = flows[-1].median("error") if flows[-1].error is not None else math.nan
    floor = ROUNDING * e_med if math.isfinite(e_med) and e_med > 0 else 0.0

    # exploding: overflow, a chain or gradient ratio above the threshold, or huge gradients — and in every
    # case a layer whose gradient is drawn above the output layer's and above rounding noise
    nonfinite = [f.layer for f in flows if not (np.all(np.isfinite(f.grad_norm)) and np.all(np.isfinite(f.delta_norm))
                                                 and np.all(np.isfinite(f.a_prev_norm)))]
    big = [ell for ell in range(1, L + 1) if g[ell - 1] > floor and not g[ell - 1] <= g[-1]]
    by_chain = [ell for ell in range(1, L) if c[ell - 1] > threshold and flows[ell - 1].median("delta_norm") > floor]
    by_ratio = [ell for ell in range(1, L) if rel[ell - 1] > threshold and ell in big]
    by_size = [ell for ell in range(1, L + 1) if g[ell - 1] > huge]
    bad = sorted(set(nonfinite) | set(by_chain) | set(by_ratio) | set(by_size))
    if bad:
        why = []
        if nonfinite:
            why.append(f"per-sample gradients overflow (non-finite) in {_span(nonfinite)}")
        if by_chain:
            top = max(by_chain, key=lambda ell: c[ell - 1])
            why.append(f"the chain ‖V^{{ℓ+1}}…V^L δ^L‖/‖δ^L‖ grows above {threshold:g} in {_span(by_chain)} "
                       f"(median {_g(c[top - 1])} at layer {top})")
        if by_ratio:
            why.append(f"the median ‖∇_{{W^ℓ}} e‖ is more than {threshold:g}× the output layer's in {_span(by_ratio)}")
        if by_size:
            why.append(f"the median ‖∇_{{W^ℓ}} e‖ exceeds {huge:g} in {_span(by_size)} "
                       f"(up to {_g(float(np.nanmax(g[np.array(by_size) - 1])))})")
        top = max(bad)
        msg = (f"Exploding gradients at {point}, from layer {top} down ({_span(bad)}): " + "; ".join(why)
               + f". Measured: {measured}." + sat)
        return Diagnosis("exploding", top, ratio, msg, tuple(bad), **common)
    if flows[-1].active is not None and not flows[-1].active.any():
        return Diagnosis("healthy", None, math.nan,
                         f"No error signal at {point}: δ^L = ∂e/∂ŷ = 0 for every sample, so no gradient flows back "
                         "through the layers (nothing can vanish or explode)." + sat, **common)
    if floor > 0 and np.all(g <= e_med / threshold):
        every = tuple(range(1, L + 1))
        out_sat = flows[-1].saturated
        why = (f"at rounding level (below {ROUNDING:g} × the median error " if np.all(g <= floor)
               else f"more than {threshold:g}× below the median error (")
        cause = (f" The output layer is {out_sat:.0%} saturated: its φ′ multiplies every layer's gradient (this "
                 "loss does not cancel it)." if out_sat >= 0.5 else "")
        msg = (f"Vanishing gradients at {point}, from layer {L} down ({_span(every)}): in every layer the median "
               f"‖∇_{{W^ℓ}} e‖ is {why}e^s = {_g(e_med)}) although that error is not small — training can "
               f"barely move from here.{cause} Measured: {measured}." + sat)
        return Diagnosis("vanishing", L, ratio, msg, every, **common)
    if L == 1:
        return Diagnosis("healthy", None, 1.0,
                         "One layer: the gradient does not flow through any hidden layer, so it cannot vanish or "
                         f"explode on the way ({measured} at {point})." + sat, **common)

    # vanishing: the chain through the hidden layers or the gradient itself more than `threshold` times below
    # the output layer's — and in every case a layer whose gradient is drawn below the output layer's
    small = [ell for ell in range(1, L) if g[ell - 1] < g[-1] or not np.isfinite(g[ell - 1])]
    by_chain = [ell for ell in range(1, L) if h[ell - 1] < 1.0 / threshold and ell in small]
    by_ratio = [ell for ell in range(1, L) if rel[ell - 1] < 1.0 / threshold]
    low = sorted(set(by_chain) | set(by_ratio))
    if low:
        top = max(low)
        why = []
        if by_chain:
            bottom = min(by_chain, key=lambda ell: h[ell - 1])
            why.append(f"the chain ‖δ^ℓ‖/‖∂e/∂z^L‖ through the layers above falls below 1/{threshold:g} in "
                       f"{_span(by_chain)} (median {_g(h[bottom - 1])} at layer {bottom}): the product "
                       "V^{ℓ+1}…V^L shrinks δ^L")
        if by_ratio:
            bottom = min(by_ratio, key=lambda ell: rel[ell - 1])
            why.append(f"the median ‖∇_{{W^ℓ}} e‖ is more than {threshold:g}× below the output layer's in "
                       f"{_span(by_ratio)} ({_g(rel[bottom - 1])} of it at layer {bottom})")
            if not by_chain:
                f = flows[bottom - 1]
                why[-1] += (f" although the chain is not that small: ‖Diag(φ′)‖ = {_g(f.median('dphi_norm'))} and "
                            f"‖a^{{ℓ−1}}‖ = {_g(f.median('a_prev_norm'))} there")
        msg = (f"Vanishing gradients at {point}, from layer {top} down ({_span(low)}): " + "; ".join(why)
               + f". The first layers barely learn. Measured: {measured}." + sat)
        return Diagnosis("vanishing", top, ratio, msg, tuple(low), **common)
    msg = (f"No vanishing or exploding gradients at {point}: no layer's median ‖∇_{{W^ℓ}} e‖ or chain "
           f"is a factor {threshold:g} away from the output layer's in the direction its gradient is drawn "
           f"(median ‖∇_{{W^1}} e‖ / ‖∇_{{W^{L}}} e‖ = {_g(ratio)}). Measured: {measured}." + sat)
    return Diagnosis("healthy", None, ratio, msg, (), **common)


def _history_growth(history, threshold: float):
    """Layers whose recorded summed-gradient norm became non-finite or grew by more than threshold."""
    H = np.asarray(history, dtype=float)
    if H.ndim != 2 or H.shape[0] < 2:
        return [], None
    bad = ~np.all(np.isfinite(H), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.nanmax(np.where(np.isfinite(H), H, np.nan), axis=0) / np.maximum(H[0], 1e-300)
    layers = [ell + 1 for ell in range(H.shape[1]) if bad[ell] or growth[ell] > threshold]
    return layers, growth


def _combine(points: list[FlowPoint], history, threshold: float):
    """One verdict over the examined points: the final w's when it has a problem, else the earliest problem."""
    final = points[-1]
    troubled = [p for p in points if p.diagnosis.kind != "healthy"]
    shown = final if final.diagnosis.kind != "healthy" or not troubled else troubled[0]
    d = shown.diagnosis
    others = [p for p in points if p is not shown]
    notes = []
    for p in others:
        pd = p.diagnosis
        notes.append(f"at {p.label}: {pd.kind}" + (f" ({_span(pd.layers)})" if pd.layers else ""))
    msg = d.message
    if notes:
        msg += " Elsewhere on the run — " + "; ".join(notes) + "."
    kind, layer, layers = d.kind, d.layer, d.layers
    if history is not None:
        grown, growth = _history_growth(history, threshold)
        if grown:
            msg += (f" The recorded ‖∇_{{W^ℓ}}E‖ of the summed gradient became non-finite or grew by more than "
                    f"{threshold:g} during training in {_span(grown)}.")
            if kind == "healthy":
                kind, layer, layers = "exploding", max(grown), tuple(grown)
                msg = msg.replace("No vanishing or exploding gradients", "Exploding gradients during training; none", 1)
    diag = Diagnosis(kind, layer, d.ratio, msg, layers, d.grad_median, d.chain, d.point, d.basis, d.threshold)
    return diag, shown


def _diagnose_norms(g: np.ndarray, threshold: float, saturated, history) -> Diagnosis:
    """The weaker verdict from per-layer norms alone (the list form of :func:`diagnose_gradients`)."""
    L = g.size
    last = g[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(g[0] / last) if last > 0 else (math.inf if g[0] > 0 else 1.0)
    sat = _saturation_note(saturated)
    common = dict(grad_median=(), chain=(), point="w", basis="summed gradient", threshold=threshold)
    if not np.all(np.isfinite(g)):
        bad = tuple(int(i) + 1 for i in np.nonzero(~np.isfinite(g))[0])
        return Diagnosis("exploding", max(bad), ratio, f"Exploding gradients: ‖∇_W E‖ is not finite in "
                         f"{_span(bad)}." + sat, bad, **common)
    if history is not None:
        grown, growth = _history_growth(history, threshold)
        if grown:
            ell = grown[0]
            return Diagnosis("exploding", ell, ratio,
                             f"Exploding gradients: ‖∇_W{ell} E‖ grew by a factor {growth[ell - 1]:.3g} during "
                             f"training (layer {ell})." + sat, tuple(grown), **common)
    if L == 1:
        return Diagnosis("healthy", None, 1.0, "One layer: the gradient does not flow through any hidden layer, "
                         "so it cannot vanish or explode on the way." + sat, **common)
    if ratio < 1.0 / threshold:
        below = [int(i) + 1 for i in np.nonzero(g * threshold < last)[0]]
        ell = max(below)
        return Diagnosis("vanishing", ell, ratio,
                         f"Vanishing gradients: ‖∇_W1 E‖ = {g[0]:.3g} is {math.log10(last / max(g[0], 1e-300)):.1f} "
                         f"orders of magnitude below ‖∇_W{L} E‖ = {last:.3g}; from layer {ell} down the "
                         f"gradient is more than {threshold:g}× smaller than at the output, so the first "
                         "layers barely learn (the product V^{ℓ+1}…V^L δ^L shrinks)." + sat, tuple(below), **common)
    if ratio > threshold:
        above = [int(i) + 1 for i in np.nonzero(g > threshold * last)[0]]
        ell = max(above)
        return Diagnosis("exploding", ell, ratio,
                         f"Exploding gradients: ‖∇_W1 E‖ = {g[0]:.3g} is {math.log10(ratio):.1f} orders of "
                         f"magnitude above ‖∇_W{L} E‖ = {last:.3g}, from layer {ell} down (the product "
                         "V^{ℓ+1}…V^L δ^L grows)." + sat, tuple(above), **common)
    return Diagnosis("healthy", None, ratio,
                     f"No vanishing or exploding gradients: ‖∇_W1 E‖ / ‖∇_W{L} E‖ = {ratio:.3g}." + sat, **common)


def diagnose_gradients(layer_norms, threshold: float = THRESHOLD, saturated=None, history=None, *,
                       huge: float = HUGE, point: str = "w") -> Diagnosis:
    """Vanishing / exploding gradients, by the lecture's bound.

    Two forms:

    * ``layer_norms`` a list of :class:`LayerFlow` (what :func:`gradient_flow`
      computes, and what every verdict mlplab shows uses): the verdict comes
      from per-sample numbers, medians over the samples —
      g_ℓ = median_s ‖∇_{W^ℓ} e^s‖₂ and c_ℓ = median_s ‖δ^ℓ_s‖/‖δ^L_s‖.
      **Exploding** in layer ℓ when its per-sample gradients or δ^ℓ are not
      finite, when c_ℓ > ``threshold`` (the chain V^{ℓ+1}…V^L grows δ^L),
      when g_ℓ > ``threshold``·g_L, or when g_ℓ > ``huge`` in absolute terms
      (default 1e6: a step γ ≥ 1e-6 already moves W^ℓ by more than 1 — this
      catches nets whose gradients are huge in every layer, where the ratios
      between layers are unremarkable). Otherwise **vanishing** in layer ℓ < L
      when c_ℓ < 1/``threshold`` or g_ℓ < g_L/``threshold``. The layers are
      named; ``layer`` is the highest of them ("from layer ℓ down").
    * ``layer_norms`` a plain list of floats ‖∇_{W^ℓ}E‖ (ℓ = 1..L) — kept for
      old callers, on a weaker basis: the summed gradient Σ_s ∇e^s at one w,
      in which the samples' gradients cancel near a stationary point (a deep
      net whose per-sample first-layer gradient is 1e5 times smaller than the
      last layer's can look healthy) and which cannot see uniform explosion.
      Vanishing / exploding when ‖∇_{W^1}E‖ is ``threshold`` times below /
      above ‖∇_{W^L}E‖; non-finite norms are exploding.

    ``history``: a (n_records, L) array of recorded norms ‖∇_{W^ℓ}E(w^k)‖ (the run's
    ``layer_grad_norms``); a layer whose norm became non-finite or grew by more
    than ``threshold`` during training counts as exploding. ``saturated``:
    per-layer fractions of saturated units, quoted in the message.
    """
    items = list(layer_norms) if not isinstance(layer_norms, np.ndarray) else layer_norms
    if len(items) and isinstance(items[0], LayerFlow):
        d = _diagnose_flows(items, threshold, huge, point)
        if history is None:
            return d
        return _combine([FlowPoint(point, None, items, d)], history, threshold)[0]
    g = np.asarray(items, dtype=float)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"layer_norms must be a non-empty list of per-layer norms, got shape {g.shape}")
    return _diagnose_norms(g, threshold, saturated, history)
