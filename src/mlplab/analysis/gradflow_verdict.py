"""The gradient-flow verdict: vanishing, exploding or healthy, and the sentence that says why.

From per-sample medians over the samples of each layer's factors (:class:`LayerFlow`):
g_ℓ = median_s ‖∇_{W^ℓ} e^s‖₂, c_ℓ = median_s ‖δ^ℓ_s‖/‖δ^L_s‖ (the chain V^{ℓ+1}…V^L relative to δ^L)
and h_ℓ = median_s ‖δ^ℓ_s‖/‖∂e^s/∂z^L‖ (the chain without the output's φ′). Medians of per-sample
numbers, because in the summed gradient Σ_s ∇e^s the samples cancel near a stationary point.

**Exploding** in layer ℓ when its per-sample gradients or δ^ℓ are not finite, when
c_ℓ > ``threshold`` (the chain V^{ℓ+1}…V^L grows δ^L), when g_ℓ > ``threshold``·g_L, or when
g_ℓ > ``huge`` in absolute terms (default 1e6: a step γ ≥ 1e-6 already moves W^ℓ by more than
1 — this catches nets whose gradients are huge in every layer, where the ratios between layers
are unremarkable). Otherwise **vanishing** in layer ℓ < L when h_ℓ < 1/``threshold`` or
g_ℓ < g_L/``threshold``. The layers are named; ``layer`` is the highest of them ("from layer ℓ
down"). NumPy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlplab.analysis.gradflow_records import HUGE, THRESHOLD, Diagnosis, FlowPoint, LayerFlow

ROUNDING = 1e-8  # a per-sample gradient this many times below the per-sample error e^s is rounding noise


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



@dataclass
class _Medians:
    """The per-layer medians at one point (arrays of shape (L,)) and the text quoting them."""

    g: np.ndarray  # median ‖∇_{W^ℓ} e^s‖₂
    c: np.ndarray  # median ‖δ^ℓ_s‖ / ‖δ^L_s‖
    h: np.ndarray  # median ‖δ^ℓ_s‖ / ‖∂e^s/∂z^L‖
    rel: np.ndarray  # g_ℓ / g_L
    ratio: float  # g_1 / g_L
    e_med: float  # median per-sample error e^s
    floor: float  # ROUNDING·e_med: a gradient below it is rounding noise
    measured: str
    sat: str
    common: dict


def _medians(flows: list[LayerFlow], threshold: float, point: str) -> _Medians:
    """The medians over the (active) samples that the per-sample verdict at ``point`` uses."""
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
    return _Medians(g, c, h, rel, ratio, e_med, floor, measured, sat, common)


def diagnose_flows(flows: list[LayerFlow], threshold: float, huge: float, point: str) -> Diagnosis:
    """The per-sample verdict at one point (see :func:`diagnose_gradients`): exploding first, then vanishing."""
    m = _medians(flows, threshold, point)
    L = len(flows)
    exploding = _exploding(flows, m, threshold, huge, point)
    if exploding is not None:
        return exploding
    if flows[-1].active is not None and not flows[-1].active.any():
        return Diagnosis("healthy", None, math.nan,
                         f"No error signal at {point}: δ^L = ∂e/∂ŷ = 0 for every sample, so no gradient flows back "
                         "through the layers (nothing can vanish or explode)." + m.sat, **m.common)
    if m.floor > 0 and np.all(m.g <= m.e_med / threshold):
        return _vanishing_everywhere(flows, m, threshold, point)
    if L == 1:
        return Diagnosis("healthy", None, 1.0,
                         "One layer: the gradient does not flow through any hidden layer, so it cannot vanish or "
                         f"explode on the way ({m.measured} at {point})." + m.sat, **m.common)
    vanishing = _vanishing(flows, m, threshold, point)
    if vanishing is not None:
        return vanishing
    msg = (f"No vanishing or exploding gradients at {point}: no layer's median ‖∇_{{W^ℓ}} e‖ or chain "
           f"is a factor {threshold:g} away from the output layer's in the direction its gradient is drawn "
           f"(median ‖∇_{{W^1}} e‖ / ‖∇_{{W^{L}}} e‖ = {_g(m.ratio)}). Measured: {m.measured}." + m.sat)
    return Diagnosis("healthy", None, m.ratio, msg, (), **m.common)


def _exploding(flows: list[LayerFlow], m: _Medians, threshold: float, huge: float, point: str) -> Diagnosis | None:
    """Overflow, a chain or gradient ratio above ``threshold``, or gradients above ``huge``.

    In every case a layer whose gradient is drawn above the output layer's and above rounding noise.
    """
    L, g, c, rel = len(flows), m.g, m.c, m.rel
    nonfinite = [f.layer for f in flows if not (np.all(np.isfinite(f.grad_norm)) and np.all(np.isfinite(f.delta_norm))
                                                 and np.all(np.isfinite(f.a_prev_norm)))]
    big = [ell for ell in range(1, L + 1) if g[ell - 1] > m.floor and not g[ell - 1] <= g[-1]]
    by_chain = [ell for ell in range(1, L) if c[ell - 1] > threshold and flows[ell - 1].median("delta_norm") > m.floor]
    by_ratio = [ell for ell in range(1, L) if rel[ell - 1] > threshold and ell in big]
    by_size = [ell for ell in range(1, L + 1) if g[ell - 1] > huge]
    bad = sorted(set(nonfinite) | set(by_chain) | set(by_ratio) | set(by_size))
    if not bad:
        return None
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
           + f". Measured: {m.measured}." + m.sat)
    return Diagnosis("exploding", top, m.ratio, msg, tuple(bad), **m.common)


def _vanishing_everywhere(flows: list[LayerFlow], m: _Medians, threshold: float, point: str) -> Diagnosis:
    """Every layer's median gradient more than ``threshold``× below the median error e^s (or at rounding level)."""
    L = len(flows)
    every = tuple(range(1, L + 1))
    out_sat = flows[-1].saturated
    why = (f"at rounding level (below {ROUNDING:g} × the median error " if np.all(m.g <= m.floor)
           else f"more than {threshold:g}× below the median error (")
    cause = (f" The output layer is {out_sat:.0%} saturated: its φ′ multiplies every layer's gradient (this "
             "loss does not cancel it)." if out_sat >= 0.5 else "")
    msg = (f"Vanishing gradients at {point}, from layer {L} down ({_span(every)}): in every layer the median "
           f"‖∇_{{W^ℓ}} e‖ is {why}e^s = {_g(m.e_med)}) although that error is not small — training can "
           f"barely move from here.{cause} Measured: {m.measured}." + m.sat)
    return Diagnosis("vanishing", L, m.ratio, msg, every, **m.common)


def _vanishing(flows: list[LayerFlow], m: _Medians, threshold: float, point: str) -> Diagnosis | None:
    """The chain h_ℓ or the gradient g_ℓ/g_L more than ``threshold``× below the output layer's.

    In every case a layer whose gradient is drawn below the output layer's.
    """
    L, g, h, rel = len(flows), m.g, m.h, m.rel
    small = [ell for ell in range(1, L) if g[ell - 1] < g[-1] or not np.isfinite(g[ell - 1])]
    by_chain = [ell for ell in range(1, L) if h[ell - 1] < 1.0 / threshold and ell in small]
    by_ratio = [ell for ell in range(1, L) if rel[ell - 1] < 1.0 / threshold]
    low = sorted(set(by_chain) | set(by_ratio))
    if not low:
        return None
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
           + f". The first layers barely learn. Measured: {m.measured}." + m.sat)
    return Diagnosis("vanishing", top, m.ratio, msg, tuple(low), **m.common)


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


def combine_points(points: list[FlowPoint], history, threshold: float):
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
    """Vanishing / exploding gradients, by the lecture's bound (the rules: the module docstring).

    Two forms:

    * ``layer_norms`` a list of :class:`LayerFlow` (what :func:`gradient_flow`
      computes, and what every verdict mlplab shows uses): the verdict comes
      from per-sample numbers, medians over the samples (g_ℓ, c_ℓ, h_ℓ).
    * ``layer_norms`` a plain list of floats ‖∇_{W^ℓ}E‖ (ℓ = 1..L), a weaker
      basis: the summed gradient Σ_s ∇e^s at one w, in which the samples'
      gradients cancel near a stationary point (a deep net whose per-sample
      first-layer gradient is 1e5 times smaller than the last layer's can look
      healthy) and which cannot see uniform explosion.
      Vanishing / exploding when ‖∇_{W^1}E‖ is ``threshold`` times below /
      above ‖∇_{W^L}E‖; non-finite norms are exploding.

    ``history``: a (n_records, L) array of recorded norms ‖∇_{W^ℓ}E(w^k)‖ (the run's
    ``layer_grad_norms``); a layer whose norm became non-finite or grew by more
    than ``threshold`` during training counts as exploding. ``saturated``:
    per-layer fractions of saturated units, quoted in the message.
    """
    items = list(layer_norms) if not isinstance(layer_norms, np.ndarray) else layer_norms
    if len(items) and isinstance(items[0], LayerFlow):
        d = diagnose_flows(items, threshold, huge, point)
        if history is None:
            return d
        return combine_points([FlowPoint(point, None, items, d)], history, threshold)[0]
    g = np.asarray(items, dtype=float)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"layer_norms must be a non-empty list of per-layer norms, got shape {g.shape}")
    return _diagnose_norms(g, threshold, saturated, history)
