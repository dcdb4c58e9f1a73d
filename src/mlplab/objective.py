"""The training objective E(w) = Σ_s e^s(w) (+ regulariser) on fixed data.

:class:`Problem` binds a network, data (X, Y), a loss, optional L2 and L1
regularisers and a reduction, and evaluates at any flat parameter vector w:

    E(w)   = R( Σ_{s∈B} c_s e(y^s, MLP(x^s; w)) ) + ρ_B ( (λ/2) Σ_ℓ ‖W^ℓ‖²_F + λ₁ Σ_ℓ Σ_ij |W^ℓ_ij| )
    ∇E(w)  by backpropagation, in the ``params`` layout (the L1 term by its subgradient
           λ₁ sign(W^ℓ), 0 where W^ℓ_ij = 0)

over all samples (B = {1..S}, the lecture's E) or over a block B of them (the
stochastic methods' e^{j_k} and Σ_{j∈B_k} e^j). R is the identity for
``reduction="sum"`` (the lecture) or division by |B| for ``"mean"``; c_s are
optional sample weights (default 1). Biases are not regularised. The
regulariser is split evenly over samples so that block gradients are unbiased
and a block equal to the whole data set gives exactly ∇E: ρ_B = |B|/S with
``"sum"``, ρ_B = 1 with ``"mean"``.
"""

from __future__ import annotations

import numpy as np

from mlplab.fast import blas
from mlplab.fast.sgd_steps import FusedSteps
from mlplab._checks import check_real
from mlplab.fast.workspace import describe
from mlplab.inputs import input_product, issparse
from mlplab.losses import get_loss, output_error
from mlplab.network import MLP

REDUCTIONS = ("sum", "mean")
CHUNK = 2048  # rows per piece of a pass over all samples (value, value_and_grad)


class Problem(FusedSteps):
    """E(w) and its gradients for one network, data set and loss.

    Args:
        net: an :class:`mlplab.MLP` (only its architecture is used; w is passed in).
        X: inputs (S, N_0).
        Y: targets, as accepted by the loss (see :mod:`mlplab.losses`).
        loss: loss name.
        l2: λ ≥ 0 of the regulariser (λ/2) Σ_ℓ ‖W^ℓ‖²_F (weights only).
        l1: λ₁ ≥ 0 of the regulariser λ₁ Σ_ℓ Σ_ij |W^ℓ_ij| (weights only), whose minimisers
            tend to hold weights exactly 0 (sparse W^ℓ; plain (sub)gradient steps only bring
            them near 0); its gradient is the subgradient λ₁ sign(W^ℓ), 0 at W^ℓ_ij = 0.
            The fused one-sample SGD paths (:mod:`mlplab.fast.sgd_steps`) decline it.
        reduction: "sum" (default, the lecture) or "mean".
        sample_weight: optional (S,) non-negative weights c_s.
    """

    def __init__(self, net, X, Y, loss="squared", *, l2=0.0, l1=0.0, reduction="sum", sample_weight=None):
        self.net = net
        self.loss = get_loss(loss)
        self.loss.check_output_activation(net.activations[-1].name)
        self.X, _ = net.check_X(X)
        if np.ndim(Y) == 0:
            Y = np.reshape(Y, 1)
        self.Y = self.loss.prepare_targets(Y, net.n_outputs, net.dtype)
        if self.Y.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"X has {self.X.shape[0]} samples but Y has {self.Y.shape[0]}; give one target per row of X"
            )
        l2 = check_real("l2", l2, low=0.0)
        l1 = check_real("l1", l1, low=0.0)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.reduction = reduction
        self.S = self.X.shape[0]
        self.sample_weight = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.shape != (self.S,):
                raise ValueError(f"sample_weight must have shape ({self.S},), got {sw.shape}")
            if not np.all(np.isfinite(sw)) or np.any(sw < 0):
                raise ValueError("sample_weight must be finite and >= 0")
            self.sample_weight = sw.astype(net.dtype)
        self.sparse = issparse(self.X)  # a CSR X: layer 1's products through scipy.sparse, never densified

    @property
    def d(self) -> int:
        return self.net.n_params

    # --- pieces ---------------------------------------------------------------

    def _block(self, idx):
        """(X_B, Y_B, c_B, |B|) for idx None (all), an int j, or an index array."""
        if idx is None:
            X, Y, c = self.X, self.Y, self.sample_weight
        elif isinstance(idx, (int, np.integer)):
            j = int(idx)
            X, Y = self.X[j:j + 1], self.Y[j:j + 1]  # views: no copy for a single sample
            c = None if self.sample_weight is None else self.sample_weight[j:j + 1]
        else:
            X, Y = self.X[idx], self.Y[idx]
            c = None if self.sample_weight is None else self.sample_weight[idx]
        return X, Y, c, X.shape[0]

    def _scale(self, c, n):
        """Row weights c_s (times 1/|B| for "mean"), or a scalar when all are equal."""
        if self.reduction == "mean":
            return 1.0 / n if c is None else c / n
        return 1.0 if c is None else c

    def _reg_weight(self, n) -> float:
        return n / self.S if self.reduction == "sum" else 1.0  # ρ_B

    def _l2_value(self, w, n) -> float:
        if self.l2 == 0.0:
            return 0.0
        sq = sum(blas.dot(w[s.W], w[s.W]) for s in self.net.slices)
        return self._reg_weight(n) * 0.5 * self.l2 * sq  # ρ_B (λ/2) Σ‖W^ℓ‖²

    def _l2_grad(self, w, g, n) -> None:
        if self.l2 == 0.0:
            return
        coef = self._reg_weight(n) * self.l2
        for s in self.net.slices:
            g[s.W] += coef * w[s.W]  # ∇ (λ/2)‖W‖² = λ W

    def _l1_value(self, w, n) -> float:
        if self.l1 == 0.0:
            return 0.0
        total = sum(float(np.abs(w[s.W]).sum()) for s in self.net.slices)
        return self._reg_weight(n) * self.l1 * total  # ρ_B λ₁ Σ|W^ℓ_ij|

    def _l1_grad(self, w, g, n) -> None:
        if self.l1 == 0.0:
            return
        coef = self._reg_weight(n) * self.l1
        for s in self.net.slices:
            g[s.W] += coef * np.sign(w[s.W])  # ∂ λ₁|W_ij| ∋ λ₁ sign(W_ij) (0 at W_ij = 0)

    def _reg_value(self, w, n) -> float:
        """ρ_B ((λ/2) Σ‖W^ℓ‖² + λ₁ Σ|W^ℓ_ij|); 0.0 without regulariser."""
        return self._l2_value(w, n) + self._l1_value(w, n)

    def _reg_grad(self, w, g, n) -> None:
        """g += ρ_B (λ W^ℓ + λ₁ sign(W^ℓ)) on the weights, in place."""
        self._l2_grad(w, g, n)
        self._l1_grad(w, g, n)

    # --- the objective ---------------------------------------------------------

    @blas.with_thread_policy  # small products on one BLAS thread (see mlplab.fast.blas)
    def value(self, w: np.ndarray, idx=None, *, outputs: np.ndarray | None = None) -> float:
        """E(w) over all samples, or over the block idx (forward pass only).

        ``outputs``: an (|B|, N_L) array (S rows for all samples) that receives the network's
        outputs ŷ = a^L of the same pass (predictions and the loss from one forward pass).
        """
        if idx is None and self.S > CHUNK:  # all samples, CHUNK rows at a time
            self._check_outputs(outputs, self.S)
            total = 0.0
            for rows in self._chunks():
                X, Y, c = self._rows(rows)
                cache = self.net.forward_cache(X, w, ws=self.net.workspace(X.shape[0]))
                if outputs is not None:
                    outputs[rows] = cache[1][-1]
                total += self._data_value(cache, Y, c, self.S)
            return total + self._reg_value(w, self.S)
        X, Y, c, n = self._block(idx)
        self._check_outputs(outputs, n)
        # the net's Z/δ buffers for n rows (consumed here, never handed out)
        cache = self.net.forward_cache(X, w, ws=self.net.workspace(n))
        if outputs is not None:
            outputs[...] = cache[1][-1]
        return self._value_from(cache, Y, c, n, w)

    def _check_outputs(self, outputs, n: int) -> None:
        if outputs is not None and not (isinstance(outputs, np.ndarray) and outputs.shape == (n, self.net.n_outputs)
                                        and outputs.flags.writeable):
            raise ValueError(f"outputs must be a writable array of shape ({n}, {self.net.n_outputs}), "
                             f"got {getattr(outputs, 'shape', type(outputs).__name__)}")

    def _chunks(self, n: int | None = None, size: int | None = None):
        """Slices of at most ``size`` (default CHUNK) rows that cover n (default S) rows."""
        n, size = (self.S if n is None else n), (CHUNK if size is None else size)
        return (slice(i, min(i + size, n)) for i in range(0, n, size))

    def _rows(self, rows: slice):
        c = None if self.sample_weight is None else self.sample_weight[rows]
        return self.X[rows], self.Y[rows], c

    def value_along(self, w: np.ndarray, d: np.ndarray, idx=None):
        """φ(α) = E(w + α d) and its slope φ′(α) = ∇E(w + α d)ᵀ d, over all samples or the block idx.

        Layer 1's pre-activation is affine in α,
            Z^1(α) = (X (W^1)ᵀ + b^1) + α (X (D^1)ᵀ + d_b^1),
        so its two GEMMs — most of a forward pass when N_0 is large — are done
        once here, and each φ(α) costs only the element-wise update of Z^1 and
        layers 2..L. All samples are taken in the same chunks as :meth:`value_and_grad`,
        so φ(0) reproduces its E exactly (other α: rounding differs from a fresh pass
        by a few ulps).

        The slope comes from a forward-mode (tangent) pass along d, no backward pass:
        with Ẇ^ℓ = D^ℓ, ḃ^ℓ = d_b^ℓ and ȧ^0 = 0,
            ż^ℓ = W^ℓ ȧ^{ℓ−1} + Ẇ^ℓ a^{ℓ−1} + ḃ^ℓ,   ȧ^ℓ = Diag(φ′(z^ℓ)) ż^ℓ  (softmax: J ż),
            φ′(α) = R(Σ_s c_s ⟨∂e^s/∂z^L, ż^{L,s}⟩) + ρ Σ_ℓ ⟨λ (W^ℓ + α D^ℓ) + λ₁ sign(W^ℓ + α D^ℓ), D^ℓ⟩,
        where ż^1 = X (D^1)ᵀ + d_b^1 is the second of the GEMMs above and ∂e/∂z^L is the
        output error of the backward pass (the pair's closed logit form where declared). The L1
        term's slope is its derivative where no W^ℓ_ij + α D^ℓ_ij is 0; where one is, it takes
        sign(0) = 0 as ∇E does (a subgradient's slope, not a one-sided derivative).
        It costs about one forward pass more than φ alone.

        Returns:
            phi: α ↦ E(w + α d) as a Python float, with ``phi.value_and_slope``:
            α ↦ (φ(α), φ′(α)).
        """
        if idx is None and self.S > CHUNK:
            pieces, n, chunked = [self._rows(rows) for rows in self._chunks()], self.S, True
        else:
            X, Y, c, n = self._block(idx)
            pieces, chunked = [(X, Y, c)], False
        net = self.net
        (W1, *_), b = net.unpack(w)
        (D1, *_), db = net.unpack(d)
        Zs = []  # (X (W^1)ᵀ + b^1, X (D^1)ᵀ + d_b^1) per piece
        for X, _, _ in pieces:
            Z_w, Z_d = input_product(X, W1), input_product(X, D1)
            if b is not None:
                Z_w += b[0]
                Z_d += db[0]
            Zs.append((Z_w, Z_d))
        trial, Z1s = np.empty_like(w), [np.empty_like(Z_w) for Z_w, _ in Zs]

        def forward(alpha: float):
            """w + α d into ``trial``; yields (piece, cache) with Z^1(α) from the precomputed GEMMs."""
            a = w.dtype.type(alpha)
            np.add(w, np.multiply(d, a, out=trial), out=trial)  # w + α d (layers 2..L, regulariser)
            for (X, Y, c), (Z_w, Z_d), Z1 in zip(pieces, Zs, Z1s):
                np.add(Z_w, np.multiply(Z_d, a, out=Z1), out=Z1)  # Z^1(α)
                ws = net.workspace(X.shape[0]) if chunked else None
                yield (X, Y, c), Z_d, net.forward_cache(X, trial, Z1=Z1, ws=ws)

        def phi(alpha: float) -> float:
            with np.errstate(over="ignore"):  # overflow far out along d (e.g. e^z summed) reads as φ = inf
                total = sum(self._data_value(cache, Y, c, n) for (_, Y, c), _, cache in forward(alpha))
            return total + self._reg_value(trial, n)

        def value_and_slope(alpha: float) -> tuple[float, float]:
            E = slope = 0.0
            weights, _ = net.unpack(trial)
            Ds, dbs = net.unpack(d)
            with np.errstate(all="ignore"):  # overflow far out along d reads as a non-finite φ
                for (X, Y, c), Z_d, cache in forward(alpha):
                    E_rows, dz = self._weighted_output(Y, cache, c, n)  # R(Σ c e), ∂(·)/∂z^L
                    E += E_rows
                    slope += blas.dot(dz.ravel(), self._tangent(cache, Z_d, weights, Ds, dbs).ravel())
            return E + self._reg_value(trial, n), slope + self._reg_slope(trial, d, n)

        phi.value_and_slope = value_and_slope
        return phi

    def _tangent(self, cache, Zdot1, weights, Ds, dbs) -> np.ndarray:
        """ż^L of the forward-mode pass along d (see :meth:`value_along`), from ż^1 = X (D^1)ᵀ + d_b^1."""
        Zs, As = cache
        net = self.net
        Zdot = Zdot1
        for ell in range(1, net.n_layers):  # ż^{ℓ+1} from ż^ℓ, layers 2..L
            act = net.activations[ell - 1]
            Adot = act.backward(Zs[ell - 1], As[ell], Zdot)  # ȧ^ℓ = Diag(φ′(z^ℓ)) ż^ℓ (softmax: J ż)
            Zdot = blas.matmul(Adot, weights[ell].T)  # W^{ℓ+1} ȧ^ℓ
            Zdot += blas.matmul(As[ell], Ds[ell].T)  # + Ẇ^{ℓ+1} a^ℓ
            if dbs is not None:
                Zdot += dbs[ell]  # + ḃ^{ℓ+1}
        return Zdot

    def _l2_slope(self, w, d, n) -> float:
        """d/dα of ρ_B (λ/2) Σ‖W^ℓ + α D^ℓ‖² = ρ_B λ Σ ⟨W^ℓ + α D^ℓ, D^ℓ⟩ (w = w + α d given)."""
        if self.l2 == 0.0:
            return 0.0
        return self._reg_weight(n) * self.l2 * sum(blas.dot(w[s.W], d[s.W]) for s in self.net.slices)

    def _l1_slope(self, w, d, n) -> float:
        """d/dα of ρ_B λ₁ Σ|W^ℓ + α D^ℓ| = ρ_B λ₁ Σ ⟨sign(W^ℓ + α D^ℓ), D^ℓ⟩ (w = w + α d given)."""
        if self.l1 == 0.0:
            return 0.0
        total = sum(float(np.sign(w[s.W]) @ d[s.W]) for s in self.net.slices)
        return self._reg_weight(n) * self.l1 * total

    def _reg_slope(self, w, d, n) -> float:
        return self._l2_slope(w, d, n) + self._l1_slope(w, d, n)

    def _value_from(self, cache, Y, c, n, w) -> float:
        return self._data_value(cache, Y, c, n) + self._reg_value(w, n)

    def _data_value(self, cache, Y, c, n) -> float:
        """R(Σ_s c_s e^s) over the cached rows, R dividing by n for "mean"."""
        e, _ = self._output(Y, cache[0][-1], cache[1][-1], need_grad=False)
        return _reduce(e, self._scale(c, n))

    @blas.with_thread_policy  # small products on one BLAS thread (see mlplab.fast.blas)
    def value_and_grad(self, w: np.ndarray, idx=None, out=None):
        """(E(w), ∇E(w)) over all samples, or over the block idx.

        Returns E as a Python float and ∇E as a (d,) array in the params layout
        (written into ``out`` when given). All samples are taken CHUNK rows at a
        time, summing the chunks' gradients in place (the GEMMs accumulate with
        β = 1): memory stays bounded and the element-wise work stays in cache.
        """
        if idx is None and self.S > CHUNK:
            g = np.empty(self.d, dtype=self.net.dtype) if out is None else out
            E = 0.0
            for i, rows in enumerate(self._chunks()):
                X, Y, c = self._rows(rows)
                ws = self.net.workspace(X.shape[0])
                cache = self.net.forward_cache(X, w, ws=ws)
                E_rows, dz = self._weighted_output(Y, cache, c, self.S)
                self.net.backward(cache, dz, w, out=g, ws=ws, accumulate=i > 0)
                E += E_rows
            self._reg_grad(w, g, self.S)
            return E + self._reg_value(w, self.S), g
        X, Y, c, n = self._block(idx)
        # every pass reuses the net's Z/δ buffers for n rows (the stochastic methods' blocks, the
        # calls of MLP.loss_and_grad): consumed here, never handed out; g is new unless ``out``
        ws = self.net.workspace(n)
        cache = self.net.forward_cache(X, w, ws=ws)
        E, dz = self._weighted_output(Y, cache, c, n)
        g = self.net.backward(cache, dz, w, out=out, ws=ws)
        self._reg_grad(w, g, n)
        return E + self._reg_value(w, n), g

    def _weighted_output(self, Y, cache, c, n):
        """(R(Σ_s c_s e^s), its ∂/∂z^L rows): the data term and the backward pass's seed."""
        e, dz = self._output(Y, cache[0][-1], cache[1][-1], need_grad=True)
        scale = self._scale(c, n)
        if np.isscalar(scale):
            if scale != 1.0:
                dz *= scale
        else:
            dz *= scale[:, None]
        return _reduce(e, scale), dz

    @blas.with_thread_policy  # small products on one BLAS thread (see mlplab.fast.blas)
    def per_sample_grads(self, w: np.ndarray, idx=None, chunk_size: int = 1024) -> np.ndarray:
        """(|B|, d) array, row s = ∇_w e^s(w) (no weights, no reduction, no regulariser).

        Samples are processed ``chunk_size`` rows at a time, so the forward
        caches stay bounded; the result itself is written in place.
        """
        X, Y, _, n = self._block(idx)
        G = np.empty((n, self.d), dtype=self.net.dtype)
        for rows in self._chunks(n, chunk_size):  # a loop over chunks, not samples
            Xr = X[rows]
            cache = self.net.forward_cache(Xr, w, ws=self.net.workspace(Xr.shape[0]))  # reused Z buffers
            _, dz = self._output(Y[rows], cache[0][-1], cache[1][-1], need_grad=True)
            self.net.backward_per_sample(cache, dz, w, out=G[rows])
        return G

    def _output(self, Y, Z, A, need_grad):
        return output_error(self.loss, self.net.activations[-1], Y, Z, A, need_grad)


# --- the network's front doors to its objective ------------------------------------------


def loss_and_grad(net: MLP, X, Y, loss="squared", *, l2=0.0, l1=0.0, reduction="sum", sample_weight=None,
                  out=None):
    """E(w) and ∇_w E(w) at the current parameters (``net.loss_and_grad``).

    E(w) = R(Σ_s c_s e(y^s, ŷ^s)) + (λ/2) Σ_ℓ ‖W^ℓ‖²_F + λ₁ Σ_ℓ Σ_ij |W^ℓ_ij|, with R the
    identity for ``reduction="sum"`` (the lecture) or division by S for ``"mean"``, c_s the
    optional sample weights, λ = ``l2`` and λ₁ = ``l1`` (biases are not regularised; the
    L1 term's gradient is the subgradient λ₁ sign(W^ℓ)).
    See :mod:`mlplab.losses` for the targets each loss accepts.

    The pass's temporaries (Z^ℓ, δ^ℓ) live in buffers the network keeps per batch size,
    so a loop over batches allocates little; what is returned is never such a buffer.

    Args:
        out: a (d,) C-contiguous array of the network's dtype to write ∇E into
            (returned as g); default: a new array.

    Returns:
        (E, g): E as a Python float, g = ∇_w E of shape (d,) in the ``params`` layout.
    """
    if out is not None and not (isinstance(out, np.ndarray) and out.shape == (net.n_params,)
                                and out.dtype == net.dtype and out.flags.c_contiguous
                                and out.flags.writeable):
        raise ValueError(f"out must be a writable C-contiguous array of shape ({net.n_params},) and dtype "
                         f"{net.dtype.name}, got {describe(out)}; pass np.empty_like(net.params)")
    problem = Problem(net, X, Y, loss, l2=l2, l1=l1, reduction=reduction, sample_weight=sample_weight)
    return problem.value_and_grad(net.params, out=out)


def per_sample_grads(net: MLP, X, Y, loss="squared") -> np.ndarray:
    """Array (S, d) whose row s is ∇_w e^s (no regulariser, no reduction; ``net.per_sample_grads``).

    The rows sum to the gradient of ``loss_and_grad`` with ``reduction="sum"``, l2 = l1 = 0.
    """
    return Problem(net, X, Y, loss).per_sample_grads(net.params)


MLP.loss_and_grad = loss_and_grad  # the network's methods, defined here above it
MLP.per_sample_grads = per_sample_grads


def _reduce(e: np.ndarray, scale) -> float:
    """R(Σ_s c_s e^s): Σ_s e^s times one number, or Σ_s (c_s R) e^s with per-row weights."""
    return float(e.sum()) * scale if np.isscalar(scale) else blas.dot(e, scale)
