"""scikit-learn's objective on mlplab's :class:`~mlplab.objective.Problem`.

For a block B (all samples for "lbfgs" and exact evaluations),

    E_B(w) = (f Σ_{s∈B} c_s e^s + (alpha/2) Σ_ℓ ‖W^ℓ‖²_F) / Σ_{s∈B} c_s

with c_s the sample (times class) weights (1 without) and f = 1/(2k) for scikit-learn's
½·mean squared error over k outputs, else 1. Its gradient is scikit-learn's ``_backprop``:
the data term's factor there is fg (½ for the squared error: scikit-learn back-propagates
ŷ − y, the gradient of ½Σ_i, k times its reported loss's), and the division by Σ_B c_s
comes last, as there, for its rounding.
"""

from __future__ import annotations

import numpy as np

from mlplab.fast import blas
from mlplab.objective import CHUNK, Problem


class SklearnObjective(Problem):
    """E_B(w) and ∇E_B(w) as scikit-learn's MLP computes them (see the module docstring).

    Args:
        net, X, Y, loss: as for :class:`~mlplab.objective.Problem`.
        f, fg: the data term's factor in E and in ∇E.
        sample_weight: c_s (None: all 1).
        alpha: scikit-learn's L2 penalty.
        log_loss: scikit-learn's log-loss value function (its clipped probabilities), or None.

    ``sums``: while set (an :class:`EpochSums`), every block the loop evaluates adds its |B| E_B
    and (|B|/S) ∇E_B to it — scikit-learn's per-epoch loss and the history's gradient estimate.
    """

    def __init__(self, net, X, Y, loss, *, f=1.0, fg=None, sample_weight=None, alpha=0.0, log_loss=None):
        super().__init__(net, X, Y, loss, reduction="sum", sample_weight=sample_weight)
        self.f, self.fg = f, (f if fg is None else fg)
        self.alpha, self.log_loss = float(alpha), log_loss
        self.sw = sample_weight
        self.slices_W = [s.W for s in net.slices]
        self.sums = None
        self.fold = False  # the loop's steps fold 1/Σc into the output error (solver "sgd": see evaluate)

    def value_and_grad(self, w, idx=None, out=None):
        """(E_B, ∇E_B) on the block idx (None: all samples)."""
        E, g = self.evaluate(w, idx, out, fold=self.fold)
        if self.sums is not None and (idx is not None or self.sums.whole):
            self.sums.add(E, self.size(idx), g)
        return E, g

    def size(self, idx) -> int:
        """|B| of the block idx: None (all S), a sample j, a slice or an index array."""
        if idx is None:
            return self.S
        if isinstance(idx, (int, np.integer)):
            return 1
        return len(range(self.S)[idx]) if isinstance(idx, slice) else len(idx)

    def evaluate(self, w, idx=None, out=None, fold=False):
        """(E_B, ∇E_B) on the block idx (None: all samples), scikit-learn's divisions included.

        ``fold`` (the training loop's steps of solver "sgd"): a classifier's factor fg/Σc multiplies the output error
        (|B| × N_L numbers) instead of dividing all of ∇E_B afterwards — one pass over w less per
        step, equal to rounding; L-BFGS-B and the epoch's exact values keep scikit-learn's division."""
        out = np.empty_like(w) if out is None else out
        sw = self.sw
        total = float(self.size(idx)) if sw is None else float(np.sum(sw if idx is None else sw[idx]))
        alpha, fg = self.alpha, self.fg
        scaled = fold and self.log_loss is not None
        if self.log_loss is None:
            E, g = Problem.value_and_grad(self, w, idx, out=out)  # Σ_B c_s e^s and its gradient
        else:  # scikit-learn's mean log-loss and ∇ Σ_B c_s e^s (times fg/Σc when folded)
            L, g = self.log_loss_term(w, idx, out, fg / total if scaled else 1.0)
        sq = 0.0
        if alpha:  # ∇ = (fg/Σc) (∇Σ c e + (alpha/fg) W^ℓ)
            for s in self.slices_W:
                W = w[s]
                sq += blas.dot(W, W)
                if scaled:  # one pass (BLAS axpy)
                    blas.axpy(g[s], alpha / total, W)
                else:  # scikit-learn's coef_grads += alpha * coefs: two roundings, no fused axpy
                    g[s] += np.multiply(W, alpha / fg, out=self._scratch(w)[s])
        if self.log_loss is None:
            E = (self.f * E + 0.5 * alpha * sq) / total
        else:  # scikit-learn's loss += (0.5 * alpha) * values / sw_sum
            E = float(L / total if self.S > CHUNK and idx is None else L) + (0.5 * alpha) * sq / total
        if not scaled:
            if fg != 1.0:
                g *= g.dtype.type(fg)  # (½ or 1: exact)
            g /= g.dtype.type(total)  # scikit-learn's division by sw_sum
        return E, g

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A buffer like w for (alpha/fg) W^ℓ, reused from block to block (no large temporary per step)."""
        buf = self.__dict__.get("_buf")
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._buf = np.empty_like(like)
        return buf

    @blas.with_thread_policy
    def log_loss_term(self, w, idx, out, scale=1.0):
        """(scikit-learn's log-loss of the block, ∇ Σ_B c_s e^s) from one forward pass: the gradient
        is the engine's (ŷ − y at the logits, scikit-learn's too), the value scikit-learn's, from the
        probabilities clipped to [eps, 1 − eps] — the value L-BFGS-B's line search and the stopping
        rules compare, so that they take scikit-learn's decisions on saturated outputs."""
        net = self.net
        pieces = ([self._block(idx)[:3]] if idx is not None or self.S <= CHUNK else
                  [self._rows(rows) for rows in self._chunks()])
        value, g = 0.0, out
        for i, (X_B, Y_B, c_B) in enumerate(pieces):
            ws = net.workspace(X_B.shape[0])
            cache = net.forward_cache(X_B, w, ws=ws)
            # scikit-learn's np.average over the rows, weighted back to a sum for the pieces
            weight = X_B.shape[0] if c_B is None else float(np.sum(c_B))
            A = cache[1][-1]
            value += self.log_loss(Y_B, A, c_B) * (weight if len(pieces) > 1 else 1.0)
            dz = A - Y_B  # ∂e/∂z^L of the cross-entropy on its canonical output (softmax, sigmoid)
            if c_B is not None:
                dz *= c_B[:, None]
            if scale != 1.0:  # the gradient's factor fg/Σc, on the (|B|, N_L) error rather than on all of w
                dz *= dz.dtype.type(scale)
            g = net.backward(cache, dz, w, out=g, ws=ws, accumulate=i > 0)
        return value, g


class EpochSums:
    """Σ_B |B| E_B and Σ_B (|B|/S) ∇E_B over an epoch's blocks: scikit-learn's epoch loss
    (``accumulated_loss / n``) and the history's gradient estimate. ``whole``: the epoch is one
    block of all S samples (an evaluation on all samples is then the step's, not a record's)."""

    def __init__(self, S: int, like: np.ndarray, whole: bool):
        self.S, self.whole, self.loss, self.grad = S, whole, 0.0, np.zeros_like(like)

    def reset(self) -> None:
        self.loss = 0.0
        self.grad[...] = 0

    def add(self, E: float, n: int, g: np.ndarray) -> None:
        self.loss += E * n
        blas.axpy(self.grad, n / self.S, g)


def sklearn_log_loss(is_classifier: bool, loss_param, out_activation: str, loss: str):
    """scikit-learn's log-loss function (its value) where the classifier's loss is scikit-learn's
    (the default cross-entropy on a softmax or sigmoid output), else None."""
    if not is_classifier or loss_param is not None:
        return None
    from sklearn.neural_network._base import LOSS_FUNCTIONS

    if (out_activation, loss) == ("softmax", "cross_entropy"):
        return LOSS_FUNCTIONS["log_loss"]
    if (out_activation, loss) == ("sigmoid", "binary_cross_entropy"):
        return LOSS_FUNCTIONS["binary_log_loss"]
    return None
