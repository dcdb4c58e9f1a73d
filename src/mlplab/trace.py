"""One sample through the network, every quantity of the lecture's backprop slides (``net.trace``).

For one sample (x, y), layer by layer,

    forward:   z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ,   a^ℓ = φ(z^ℓ),   a^0 = x,   ŷ = a^L,   e = E(y, ŷ)
    backward:  δ^L = ∂e/∂ŷ,   V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)),   δ^{ℓ−1} = V^ℓ δ^ℓ,
               ∇_{W^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ (a^{ℓ−1})ᵀ,   ∇_{b^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ

with the slides' explicit matrices (V^ℓ, Diag(φ′)) instead of the batched code, so that
it doubles as an independent check of :meth:`mlplab.network.MLP.backward`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab import _html
from mlplab.inputs import issparse
from mlplab.losses import get_loss, output_error


def trace(net, x, y, loss="squared") -> "Trace":
    """The :class:`Trace` of one sample (x, y) through ``net`` (an :class:`mlplab.MLP`).

    Args:
        x: one sample, (N_0,) or (1, N_0) (a sparse row is densified).
        y: its target: one number (N_L = 1, or a class label) or a row of N_L targets.
        loss: the loss name of e = E(y, ŷ).
    """
    if issparse(x):  # one sample: its dense row
        x = x.toarray()
    X, _ = net.check_X(np.asarray(x).reshape(-1) if np.ndim(x) <= 1 else x)
    if X.shape[0] != 1:
        raise ValueError(f"trace takes one sample, got {X.shape[0]}")
    lossf = get_loss(loss)
    out_act = net.activations[-1]
    lossf.check_output_activation(out_act.name)
    y_arr = np.asarray(y)
    # one number is a target (N_L = 1) or a class label; otherwise one row of targets
    Y = lossf.prepare_targets(y_arr.reshape(1) if y_arr.size == 1 else y_arr.reshape(1, -1),
                              net.n_outputs, net.dtype)
    if Y.shape[0] != 1:
        raise ValueError("trace takes the target of one sample")
    Zs, As = net.forward_cache(X)
    z = [Z[0] for Z in Zs]
    a = [A[0] for A in As]
    e, dz_L = output_error(lossf, out_act, Y, Zs[-1], As[-1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        delta = lossf.grad(Y, As[-1])[0]  # δ^L = ∂e/∂ŷ
    L = net.n_layers
    layers: list[LayerTrace | None] = [None] * L
    for ell in range(L, 0, -1):
        W = net.weights[ell - 1]
        act = net.activations[ell - 1]
        J = act.jacobian(z[ell - 1], a[ell])  # Diag(φ′(z^ℓ)) (softmax: full Jacobian)
        V = W.T @ J  # V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ))
        if ell == L and out_act.name in lossf.logit_forms:
            dz = dz_L[0]  # the pair's closed form of Diag(φ′) δ^L (finite when δ^L is not)
        else:
            dz = J @ delta  # ∂e/∂z^ℓ = Diag(φ′(z^ℓ)) δ^ℓ
        layers[ell - 1] = LayerTrace(
            layer=ell,
            W=W.copy(),
            b=None if net.biases is None else net.biases[ell - 1].copy(),
            z=z[ell - 1],
            a=a[ell],
            dphi=np.diag(J).copy() if act.elementwise else J,
            delta=delta,
            V=V,
            grad_W=np.outer(dz, a[ell - 1]),  # Diag(φ′) δ^ℓ (a^{ℓ−1})ᵀ
            grad_b=dz.copy() if net.bias else None,
        )
        delta = W.T @ dz  # δ^{ℓ−1} = (W^ℓ)ᵀ Diag(φ′(z^ℓ)) δ^ℓ = V^ℓ δ^ℓ
    return Trace(x=a[0], y=Y[0], yhat=a[-1], e=float(e[0]), loss=lossf.name, layers=layers)


@dataclass
class LayerTrace:
    """Layer ℓ's quantities for one sample (the lecture's notation).

    Shapes: W (N_ℓ, N_{ℓ−1}); b, z, a, delta, grad_b (N_ℓ,); dphi (N_ℓ,) —
    or (N_ℓ, N_ℓ), the Jacobian, for softmax; V (N_{ℓ−1}, N_ℓ); grad_W like W.
    """

    layer: int
    W: np.ndarray
    b: np.ndarray | None
    z: np.ndarray  # z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ
    a: np.ndarray  # a^ℓ = φ(z^ℓ)
    dphi: np.ndarray  # φ′(z^ℓ)
    delta: np.ndarray  # δ^ℓ = ∂e/∂a^ℓ
    V: np.ndarray  # V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)); δ^{ℓ−1} = V^ℓ δ^ℓ
    grad_W: np.ndarray  # ∇_{W^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ (a^{ℓ−1})ᵀ
    grad_b: np.ndarray | None  # ∇_{b^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ

    def _html_row(self) -> list[str]:
        return [str(self.layer)] + [_html.array(v) if v is not None else "–" for v in
                                    (self.z, self.a, self.dphi, self.delta, self.V, self.grad_W, self.grad_b)]

    def _repr_html_(self) -> str:
        return _html.table([self._html_row()], _TRACE_HEAD, title=f"layer {self.layer}")


_TRACE_HEAD = ["ℓ", "z^ℓ", "a^ℓ = φ(z^ℓ)", "φ′(z^ℓ)", "δ^ℓ = ∂e/∂a^ℓ", "V^ℓ = (W^ℓ)ᵀ Diag(φ′)",
               "∇_{W^ℓ} e", "∇_{b^ℓ} e"]


@dataclass
class Trace:
    """Forward and backward pass of one sample, layer by layer (``net.trace``)."""

    x: np.ndarray  # a^0
    y: np.ndarray
    yhat: np.ndarray  # a^L
    e: float
    loss: str
    layers: list[LayerTrace]

    @property
    def grad(self) -> np.ndarray:
        """∇_w e in the flat ``params`` layout, (d,)."""
        parts = []
        for lt in self.layers:
            parts.append(lt.grad_W.ravel())
            if lt.grad_b is not None:
                parts.append(lt.grad_b)
        return np.concatenate(parts)

    def __str__(self) -> str:
        def fmt(v):  # matrices: continuation rows indented under the first
            text = np.array2string(np.asarray(v), precision=6, separator=", ", max_line_width=100)
            return text.replace("\n", "\n" + " " * 8)
        lines = [f"x = a^0 = {fmt(self.x)}", f"y = {fmt(self.y)}", f"ŷ = a^L = {fmt(self.yhat)}",
                 f"e = {self.loss}(y, ŷ) = {self.e:.10g}", ""]
        lines.append("forward:")
        for lt in self.layers:
            lines.append(f"  z^{lt.layer} = W^{lt.layer} a^{lt.layer - 1}" + (f" + b^{lt.layer}" if lt.b is not None else "")
                         + f" = {fmt(lt.z)}")
            lines.append(f"  a^{lt.layer} = φ(z^{lt.layer}) = {fmt(lt.a)}")
        lines.append("backward (δ^ℓ = ∂e/∂a^ℓ, V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ))):")
        for lt in reversed(self.layers):
            ell = lt.layer
            lines.append(f"  δ^{ell} = {fmt(lt.delta)}")
            lines.append(f"  φ′(z^{ell}) = {fmt(lt.dphi)}")
            lines.append(f"  V^{ell} = {fmt(lt.V)}")
            lines.append(f"  ∇_W^{ell} e = Diag(φ′(z^{ell})) δ^{ell} (a^{ell - 1})ᵀ = {fmt(lt.grad_W)}")
            if lt.grad_b is not None:
                lines.append(f"  ∇_b^{ell} e = {fmt(lt.grad_b)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        top = _html.pairs([("x = a^0", _html.array(self.x)), ("y", _html.array(self.y)),
                           ("ŷ = a^L", _html.array(self.yhat)), (f"e = {self.loss}(y, ŷ)", f"{self.e:.10g}")],
                          title="Trace: one sample, forward and backward")
        return top + _html.table([lt._html_row() for lt in self.layers], _TRACE_HEAD)
