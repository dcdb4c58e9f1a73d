"""The speed-only steps of :class:`mlplab.objective.Problem`: SGD steps fused into the BLAS calls.

The lecture's step w ← w − γ ∇E_B(w) needs ∇E_B as a (d,) vector; these methods take it
without forming that vector (the GEMM or rank-1 update that computes ∇_{W^ℓ} E_B adds it
to W^ℓ at once), or run whole sequences of one-sample steps in compiled or scalar code
(:mod:`mlplab.fast.compiled`, :mod:`mlplab.fast.scalar`). Each is tested equal to the plain
``value_and_grad`` step (tests/test_fast_paths.py, tests/test_compiled.py). None of them
knows the L1 term λ₁ Σ|W^ℓ_ij|: with l1 > 0 each declines, and the training loop's array
kernels take the step from ``value_and_grad``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from mlplab.fast import blas, compiled, scalar
from mlplab.inputs import input_grad


class FusedSteps:
    """Mixed into :class:`mlplab.objective.Problem` (whose E_B, blocks and regulariser it uses)."""

    @functools.cached_property
    def _use_scalar(self) -> bool:
        """One-sample SGD steps in Python floats (tiny float64 nets, dense X)? Decided on first use:
        only :meth:`sgd_steps` asks, so a Problem built for one gradient (``MLP.loss_and_grad``) skips it."""
        return not self.sparse and scalar.supports(self)

    @blas.with_thread_policy  # small products on one BLAS thread (see mlplab.fast.blas)
    def sgd_step(self, w: np.ndarray, idx, gamma: float, acc: np.ndarray | None = None) -> tuple[float, bool]:
        """The (mini-batch) SGD step on the sample j or the block idx, in place: w ← w − γ ∇E_B(w).

        E_B is the block objective of ``value_and_grad(w, idx)``. No (d,) gradient
        is formed: ∇_{W^ℓ} E_B = (dZ^ℓ)ᵀ A^{ℓ−1} (+ ρλ W^ℓ), so every W^ℓ takes its
        step in the BLAS call that computes that product,
            W^ℓ ← (1 − γρλ) W^ℓ − γ (dZ^ℓ)ᵀ A^{ℓ−1}
        (``ger``, a rank-1 update, for one sample; ``gemm`` with β = 1 − γρλ for a
        block): one pass over the weights instead of writing g, scaling it and
        adding it to w. All dZ^ℓ are computed before any W^ℓ changes (backprop
        needs the old W).

        ``acc``, a (d,) array: ∇E_B(w) (at the w before the step) is added to it, by the same
        BLAS calls into acc's layers (the training loop's block sums for the history).

        Returns:
            (E_B(w) at the w before the step, taken). ``taken`` is False — and w (and acc) are
            untouched — when E_B is not finite, when |B| γ Σ_ℓ ‖dZ^ℓ‖_F max(1, max|A^{ℓ−1}|)
            (a bound on every entry of the step) comes near the dtype's overflow, or when
            the regulariser's factor |1 − γρλ| exceeds 1: the caller then takes the general
            path, which reports a divergence exactly. With an L1 term (l1 > 0) it declines at
            once and returns (nan, False): E_B is left to the general path too.
        """
        if self.l1 > 0.0:
            return math.nan, False
        X, Y, c, n = self._block(idx)
        ws = None if n == 1 else self.net.workspace(n)
        cache = self.net.forward_cache(X, w, ws=ws)
        E, dz = self._weighted_output(Y, cache, c, n)
        E += self._l2_value(w, n)  # (no L1 term here: declined above)
        factors = list(self.net.backprop(cache, dz, w, ws))  # (ℓ, dZ^ℓ, A^{ℓ−1}), ℓ = L … 1
        # |B| Σ_ℓ ‖dZ^ℓ‖_F max(1, max|A^{ℓ−1}|) bounds every |Σ_s dz_si a_sj| and |Σ_s dz_si|, the
        # entries of the step / γ (a sum over layers, so that a NaN anywhere fails the test)
        bound = sum(_norm_bound(dz_l) * max(1.0, self._a_bound(ell, a)) for ell, dz_l, a in factors)
        shrink = 1.0 - gamma * self._reg_weight(n) * self.l2  # the regulariser's −γ ρλ W^ℓ
        if not (math.isfinite(E) and n * gamma * bound < _SAFE_STEP[w.dtype] and abs(shrink) <= 1.0):
            return E, False
        f = w.dtype.type
        if acc is not None:  # ∇E_B(w) into acc, before any W^ℓ changes
            self._add_gradient(acc, factors, w, n)
        for ell, dz_l, a_prev in factors:
            s = self.net.slices[ell - 1]
            W = w[s.W].reshape(s.shape)
            if ell == 1 and self.sparse:  # W^1 ← (1 − γρλ) W^1 − γ (Xᵀ dZ)ᵀ through scipy.sparse
                if shrink != 1.0:
                    W *= f(shrink)
                W -= f(gamma) * input_grad(dz_l, a_prev)
            elif n == 1:
                if shrink != 1.0:
                    W *= f(shrink)
                blas.ger_update(W, -gamma, dz_l[0], a_prev[0])  # W^ℓ ← W^ℓ − γ dz (a^{ℓ−1})ᵀ
            else:
                blas.gemm_update(W, -gamma, dz_l.T, a_prev, shrink)  # W^ℓ ← (1 − γρλ) W^ℓ − γ dZᵀ A^{ℓ−1}
            if s.b is not None:
                b = w[s.b]
                b -= f(gamma) * (dz_l[0] if n == 1 else dz_l.sum(axis=0))  # b^ℓ ← b^ℓ − γ Σ_s dz_s
        return E, True

    def _add_gradient(self, acc: np.ndarray, factors, w: np.ndarray, n: int) -> None:
        """acc += ∇E_B(w): (dZ^ℓ)ᵀ A^{ℓ−1} + ρλ W^ℓ and Σ_s dz_s per layer, from backprop's factors."""
        coef = self._reg_weight(n) * self.l2
        for ell, dz_l, a_prev in factors:
            s = self.net.slices[ell - 1]
            G = acc[s.W].reshape(s.shape)
            if coef:
                G += w[s.W].reshape(s.shape) * w.dtype.type(coef)
            if ell == 1 and self.sparse:
                G += input_grad(dz_l, a_prev)
            elif n == 1:
                blas.ger_update(G, 1.0, dz_l[0], a_prev[0])
            else:
                blas.gemm_update(G, 1.0, dz_l.T, a_prev, 1.0)
            if s.b is not None:
                acc[s.b] += dz_l[0] if n == 1 else dz_l.sum(axis=0)

    def sgd_steps(self, w: np.ndarray, js, gammas, acc: np.ndarray | None = None) -> int:
        """Consecutive one-sample SGD steps w ← w − γ_k ∇E_{j_k}(w), for j_k, γ_k in zip(js, gammas).

        The same steps as calling :meth:`sgd_step` for each pair. Networks of at most
        :data:`mlplab.fast.compiled.MAX_PARAMS` parameters run them in a compiled loop when
        Numba is installed (:mod:`mlplab.fast.compiled`; ``MLPLAB_NO_NUMBA=1`` turns it off),
        else tiny float64 networks in Python floats (:mod:`mlplab.fast.scalar`): the same
        formulas per component, equal to rounding. Stops before the first step
        whose E_j is not finite or that might overflow (each path with its own
        bound, see :meth:`sgd_step` and :func:`mlplab.fast.scalar.sgd_steps`) and
        returns the number of steps taken; w then holds the last good iterate.

        ``acc`` (compiled kernel only; see :func:`mlplab.fast.compiled.sgd_steps`): float64
        sums [Σ E_j, Σ ∇E_j] of the steps taken are added to it.

        With an L1 term (l1 > 0) it declines: 0 steps, w and acc untouched.
        """
        if self.l1 > 0.0:
            return 0
        plan = self.compiled_plan()
        if (plan is not None and w.dtype == self.net.dtype and w.shape == (self.d,)
                and w.flags.c_contiguous and w.flags.writeable):
            return compiled.sgd_steps(self, w, js, gammas, plan, acc=acc)
        if acc is not None:
            raise ValueError("sgd_steps: acc needs the compiled kernel (Numba), which does not apply here")
        if self._use_scalar:
            return scalar.sgd_steps(self, w, js, gammas)
        for taken, (j, gamma) in enumerate(zip(js, gammas)):
            if not self.sgd_step(w, j, gamma)[1]:
                return taken
        return len(js)

    def compiled_plan(self):
        """The compiled one-sample SGD kernel's plan for this problem (:func:`mlplab.fast.compiled.plan`),
        or None where it does not apply (a sparse X or an L1 term included) or Numba is absent or
        switched off."""
        if self.l1 > 0.0:
            return None
        plan = self.__dict__.get("_compiled_plan", False)
        if plan is False:  # decided on the first call
            plan = self._compiled_plan = None if getattr(self, "sparse", False) else compiled.plan(self)
        # (re-checked: the switch may be set later, a pickled Problem may meet a Python without Numba)
        if plan is None or compiled.disabled() or compiled.kernel() is None:
            return None
        return plan

    def _a_bound(self, ell: int, A: np.ndarray) -> float:
        """A bound on max |A^{ℓ−1}| for the overflow test: max |x_ij| over all inputs for ℓ = 1
        (computed once), the activation's own bound (σ, tanh: 1) or max |A^{ℓ−1}| itself."""
        if ell == 1:
            bound = self.__dict__.get("_x_abs_max")
            if bound is None:
                bound = self._x_abs_max = _abs_max(self.X)
            return bound
        act_bound = self.net.activations[ell - 2].bound
        return act_bound if act_bound is not None else _abs_max(A)


# |step entries| below this cannot overflow the weights they are added to
_SAFE_STEP = {np.dtype(dt): 0.25 * float(np.finfo(dt).max) for dt in (np.float32, np.float64)}


def _abs_max(x: np.ndarray) -> float:
    """max |x_i| without an |x| temporary; NaN if x holds a NaN."""
    return max(float(x.max()), -float(x.min()))


def _norm_bound(dz: np.ndarray) -> float:
    """‖dz‖_F ≥ max |dz_i| (one BLAS dot); max |dz_i| itself where ‖dz‖² overflows. NaN stays NaN."""
    norm = math.sqrt(blas.dot(dz.ravel(), dz.ravel()))
    return norm if norm < math.inf else _abs_max(dz)
