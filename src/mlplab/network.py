"""The multi-layer perceptron: parameters, forward pass, backpropagation.

Notation (the lecture's; DESIGN.md):

* layer sizes N_0 (inputs), N_1, …, N_L (outputs);
* z^ℓ = W^ℓ a^{ℓ−1} + b^ℓ, a^ℓ = φ^ℓ(z^ℓ), a^0 = x, ŷ = a^L;
* W^ℓ has shape (N_ℓ, N_{ℓ−1}); batched, samples are rows: Z^ℓ = A^{ℓ−1} (W^ℓ)ᵀ + b^ℓ;
* δ^ℓ = ∂e/∂a^ℓ (the lecture's "generalized setting"), V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ)),
  δ^{ℓ−1} = V^ℓ δ^ℓ, ∇_{W^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ (a^{ℓ−1})ᵀ, ∇_{b^ℓ} e = Diag(φ′(z^ℓ)) δ^ℓ.

All parameters live in ONE flat vector w = ``net.params`` (order W^1, b^1, W^2,
b^2, …, each W row-major); ``net.weights`` / ``net.biases`` are views into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from mlplab.fast import blas
from mlplab._checks import make_rng
from mlplab._memory import check_memory
from mlplab.fast.workspace import CACHES, Workspace, check_sparse_X, resolve_dtype, views, workspace
from mlplab.activations import Activation, get_activation
from mlplab.initializers import initialize
from mlplab.inputs import input_grad, input_product, issparse
from mlplab.trace import LayerTrace, Trace, trace

__all__ = ["MLP", "LayerSlices", "LayerTrace", "Trace", "Workspace", "resolve_dtype", "input_grad", "input_product",
           "issparse"]


@dataclass(frozen=True)
class LayerSlices:
    """Where layer ℓ's parameters sit in the flat vector w."""

    W: slice
    b: slice | None
    shape: tuple[int, int]  # (N_ℓ, N_{ℓ−1})

    @property
    def all(self) -> slice:
        """W^ℓ and b^ℓ together (they are adjacent)."""
        stop = self.b.stop if self.b is not None else self.W.stop
        return slice(self.W.start, stop)


class MLP:
    """A multi-layer perceptron ŷ = φ^L(W^L φ^{L−1}(… φ^1(W^1 x + b^1) …) + b^L).

    Args:
        layer_sizes: [N_0, N_1, …, N_L], at least two positive integers.
        activation: one name for every layer, or a list of L names (one per
            layer, hidden and output). Names: sigmoid, tanh, relu, leaky_relu,
            identity, softplus, exp, softmax (output layer only).
        output_activation: overrides the last layer's activation.
        bias: give every layer a bias b^ℓ (the lecture's homework); with
            ``False``, z^ℓ = W^ℓ a^{ℓ−1} exactly as on the slides.
        init: initial weights, see :mod:`mlplab.initializers` ("glorot",
            "he", "normal(0.1)", explicit arrays, …).
        seed: seed (or ``np.random.Generator``) for the initializer; the
            global NumPy RNG is never touched.
        dtype: "float64" (default) or "float32", kept end to end.

    Attributes:
        params: the flat parameter vector w ∈ R^d (write into it to change the model).
        weights: list of W^ℓ, views of shape (N_ℓ, N_{ℓ−1}) into ``params``.
        biases: list of b^ℓ, views of shape (N_ℓ,), or ``None`` when ``bias=False``.
        activations: the L :class:`~mlplab.activations.Activation` records.
        n_params: d.

    E(w) and ∇E(w) on data, ``net.loss_and_grad(X, Y, loss)`` and ``net.per_sample_grads(X, Y, loss)``,
    are the objective's: :mod:`mlplab.objective` sits above the network and defines them.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        output_activation: str | None = None,
        bias: bool = True,
        init="glorot",
        seed: int | np.random.Generator | None = None,
        dtype="float64",
    ):
        sizes = _check_layer_sizes(layer_sizes)
        L = len(sizes) - 1
        if isinstance(activation, str):
            names = [activation] * L
        elif isinstance(activation, Sequence) and len(activation) == L:
            names = list(activation)
        else:
            raise ValueError(
                f"activation must be one name or a list of {L} names (one per layer), "
                f"got {activation!r}"
            )
        if output_activation is not None:
            names[-1] = output_activation
        acts = [get_activation(n) for n in names]
        for ell, act in enumerate(acts[:-1], start=1):
            if act.output_only:
                raise ValueError(
                    f"activation {act.name!r} can only be used on the output layer, "
                    f"but layer {ell} of {L} asks for it"
                )
        if not isinstance(bias, (bool, np.bool_)):
            raise ValueError(f"bias must be True or False, got {bias!r}")

        self.layer_sizes: tuple[int, ...] = sizes
        self.activations: tuple[Activation, ...] = tuple(acts)
        self.bias = bool(bias)
        self.dtype = resolve_dtype(dtype)
        self.slices: tuple[LayerSlices, ...] = _layout(sizes, self.bias)
        self.n_params = self.slices[-1].all.stop
        check_memory(self.n_params * self.dtype.itemsize,  # before allocating: a clean error, not a MemoryError
                     f"the weights of a {'-'.join(map(str, sizes))} network "
                     f"({self.n_params:,} parameters, {self.dtype.name})", "use smaller layers")
        self.params = np.zeros(self.n_params, dtype=self.dtype)
        self.weights, self.biases = self.unpack(self.params)
        self.init = init if isinstance(init, str) else "explicit"
        self.seed = seed if isinstance(seed, (int, np.integer)) or seed is None else "generator"
        initialize(init, self.params, self.weights, self.biases, make_rng(seed))

    # --- structure -------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        """L, the number of layers with weights."""
        return len(self.layer_sizes) - 1

    @property
    def n_inputs(self) -> int:
        return self.layer_sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.layer_sizes[-1]

    def unpack(self, w: np.ndarray):
        """Views (weights, biases) into any flat vector w laid out like ``params``."""
        weights = [w[s.W].reshape(s.shape) for s in self.slices]
        biases = [w[s.b] for s in self.slices] if self.bias else None
        return weights, biases

    def workspace(self, S: int) -> Workspace:
        """Reused Z^ℓ, δ^ℓ buffers for blocks of S rows (speed only; :mod:`mlplab.fast.workspace`)."""
        return workspace(self, S)

    def copy(self, dtype=None) -> "MLP":
        """An independent network with the same architecture and a copy of w (in ``dtype`` if given)."""
        new = object.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new.dtype = self.dtype if dtype is None else resolve_dtype(dtype)
        new.params = self.params.astype(new.dtype)  # a copy
        new.weights, new.biases = new.unpack(new.params)
        for key in CACHES:
            new.__dict__.pop(key, None)
        return new

    def __getstate__(self):
        # weights/biases are views into params; pickle params once and rebuild the views
        # (the view and workspace caches are rebuilt on demand)
        state = self.__dict__.copy()
        for key in ("weights", "biases", *CACHES):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.weights, self.biases = self.unpack(self.params)

    def __repr__(self) -> str:
        acts = ", ".join(a.name for a in self.activations)
        return (
            f"MLP(layer_sizes={list(self.layer_sizes)}, activations=[{acts}], "
            f"bias={self.bias}, dtype={self.dtype.name}, n_params={self.n_params})"
        )

    # --- input checking (the boundary) ----------------------------------------

    def check_X(self, X) -> tuple[np.ndarray, bool]:
        """Validate inputs; returns (X as (S, N_0) array of the net's dtype, was_1d).

        A SciPy sparse X (matrix or array, any format) stays sparse: it comes back as CSR of the
        net's dtype (a copy only where the format or dtype differs), its stored values checked.
        """
        if issparse(X):
            return check_sparse_X(X, self.n_inputs, self.dtype), False
        try:
            arr = np.asarray(X)
        except ValueError:
            raise ValueError("inputs X must be a rectangular array (samples, features); rows differ in length") from None
        if arr.dtype == bool:
            arr = arr.astype(self.dtype)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise ValueError(f"inputs X must be real numbers, got dtype {arr.dtype}")
        one = arr.ndim == 1
        if one:
            if arr.shape[0] != self.n_inputs:
                raise ValueError(
                    f"a 1-D x is one sample and needs {self.n_inputs} features, got {arr.shape[0]}; "
                    "for many samples of one feature pass X.reshape(-1, 1)"
                )
            arr = arr.reshape(1, -1)
        if arr.ndim != 2:
            raise ValueError(f"inputs X must be 2-D (samples, features), got shape {arr.shape}")
        if arr.shape[1] != self.n_inputs:
            raise ValueError(
                f"X has {arr.shape[1]} features but the network expects N_0 = {self.n_inputs}"
            )
        if arr.shape[0] == 0:
            raise ValueError("X has no samples; give at least one row")
        arr = np.ascontiguousarray(arr, dtype=self.dtype)
        if not blas.all_finite(arr):  # one BLAS dot, no (S, N_0) mask unless it finds something
            row, col = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(f"X contains NaN or inf (row {row}, column {col}); remove or impute it")
        return arr, one

    def _params_arg(self, params) -> np.ndarray:
        if params is None:
            return self.params
        w = np.asarray(params)
        if w.shape != (self.n_params,):
            raise ValueError(f"params must be a flat vector of length d = {self.n_params}, got shape {w.shape}")
        return w.astype(self.dtype, copy=False)

    # --- forward ---------------------------------------------------------------

    def forward_cache(self, X: np.ndarray, w: np.ndarray | None = None, Z1: np.ndarray | None = None,
                      ws: Workspace | None = None):
        """Forward pass keeping what backpropagation needs.

        Args:
            X: (S, N_0) inputs of the net's dtype (already validated); a SciPy sparse CSR X
                is taken as it is, layer 1's product going through scipy.sparse (:func:`input_product`).
            w: flat parameters (default ``self.params``).
            Z1: layer 1's pre-activation Z^1 (S, N_1) when the caller already has it
                (the line search: Z^1 is affine in the step size); it is used, not copied.
            ws: a :class:`Workspace` for S rows to write the Z^ℓ into (default: new arrays).

        Returns:
            (Zs, As): Zs[ℓ−1] = Z^ℓ (S, N_ℓ) for ℓ = 1..L; As[ℓ] = A^ℓ with As[0] = X.
        """
        weights, biases = views(self, self.params if w is None else w)
        Zs, As = [], [X]
        for ell, (W, act) in enumerate(zip(weights, self.activations)):
            if ell == 0 and Z1 is not None:
                Z = Z1
            else:
                # z^ℓ = W^ℓ a^{ℓ−1}, for every sample (row) at once; W.T is a transposed view
                out = None if ws is None else ws.Z[ell]
                Z = input_product(X, W, out) if ell == 0 else blas.matmul(As[-1], W.T, out=out)
                if biases is not None:
                    Z += biases[ell]  # … + b^ℓ
            Zs.append(Z)
            As.append(act.phi(Z))  # a^ℓ = φ(z^ℓ)
        return Zs, As

    def forward(self, X, params=None) -> np.ndarray:
        """ŷ = MLP(x; w) for every row of X.

        Args:
            X: (S, N_0) inputs, or one sample x of shape (N_0,).
            params: optional flat w to evaluate instead of ``self.params``.

        Returns:
            ŷ of shape (S, N_L), or (N_L,) for a 1-D x.
        """
        X, one = self.check_X(X)
        yhat = self.forward_cache(X, self._params_arg(params))[1][-1]
        return yhat[0] if one else yhat

    __call__ = forward

    # --- backward --------------------------------------------------------------

    def backprop(self, cache, dz_L: np.ndarray, w: np.ndarray | None = None,
                 ws: Workspace | None = None) -> Iterator:
        """The lecture's backward recursion, one layer at a time, from L down to 1.

        Args:
            cache: (Zs, As) from :meth:`forward_cache`.
            dz_L: ∂e/∂z^L = Diag(φ′(z^L)) δ^L, one row per sample (S, N_L).
            w: the flat parameters the cache was computed with.
            ws: a :class:`Workspace` to compute δ^ℓ and ∂e/∂z^ℓ in (default: new arrays).

        Yields:
            (ℓ, dz, a_prev): dz = ∂e/∂z^ℓ (S, N_ℓ) and a_prev = A^{ℓ−1} (S, N_{ℓ−1});
            then ∇_{W^ℓ} e^s = dz_s a_prev_sᵀ and ∇_{b^ℓ} e^s = dz_s.
        """
        Zs, As = cache
        weights, _ = views(self, self.params if w is None else w)
        dz = dz_L
        for ell in range(self.n_layers, 0, -1):
            yield ell, dz, As[ell - 1]
            if ell > 1:
                buf = None if ws is None else ws.delta[ell - 2]
                delta = blas.matmul(dz, weights[ell - 1], out=buf)  # δ^{ℓ−1} = (W^ℓ)ᵀ Diag(φ′(z^ℓ)) δ^ℓ = V^ℓ δ^ℓ
                act = self.activations[ell - 2]
                dz = act.backward(Zs[ell - 2], As[ell - 1], delta, out=buf)  # Diag(φ′(z^{ℓ−1})) δ^{ℓ−1}

    def backward(self, cache, dz_L, w=None, out=None, ws: Workspace | None = None,
                 accumulate: bool = False) -> np.ndarray:
        """Σ_s ∇_w e^s in the flat layout, from the rows of dz_L (already weighted).

        ∇_{W^ℓ} = Σ_s dz_s a_sᵀ = dZᵀ A^{ℓ−1} (one GEMM), ∇_{b^ℓ} = Σ_s dz_s.
        ``accumulate``: add to ``out`` instead of overwriting it (passes in chunks).
        """
        g = np.empty(self.n_params, dtype=self.dtype) if out is None else out
        for ell, dz, a_prev in self.backprop(cache, dz_L, w, ws):
            s = self.slices[ell - 1]
            gW = g[s.W].reshape(s.shape)
            if ell == 1 and issparse(a_prev):  # dZᵀ X through scipy.sparse
                if accumulate:
                    gW += input_grad(dz, a_prev)
                else:
                    gW[...] = input_grad(dz, a_prev)
            elif dz.shape[0] == 1:  # one sample: the outer product dz aᵀ (BLAS is slow at inner dim 1)
                if accumulate:
                    gW += dz.T * a_prev
                else:
                    np.multiply(dz.T, a_prev, out=gW)
            elif accumulate:
                blas.gemm_update(gW, 1.0, dz.T, a_prev, 1.0)  # gW + dZᵀ A^{ℓ−1}
            else:
                blas.matmul(dz.T, a_prev, out=gW)  # dZᵀ A^{ℓ−1}: dZᵀ is a transposed view, no copy
            if s.b is not None:
                if accumulate:
                    g[s.b] += dz.sum(axis=0)
                else:
                    dz.sum(axis=0, out=g[s.b])
        return g

    def backward_per_sample(self, cache, dz_L, w=None, out=None) -> np.ndarray:
        """Row s = ∇_w e^s (S, d): per-sample outer products dz_s a_sᵀ, no loop over samples."""
        S = dz_L.shape[0]
        G = np.empty((S, self.n_params), dtype=self.dtype) if out is None else out
        for ell, dz, a_prev in self.backprop(cache, dz_L, w):
            s = self.slices[ell - 1]
            if issparse(a_prev):  # the rows' outer products are dense anyway: (S, d) ⊇ (S, N_0)
                a_prev = a_prev.toarray()
            block = G[:, s.W].reshape(S, *s.shape)
            np.multiply(dz[:, :, None], a_prev[:, None, :], out=block)
            if s.b is not None:
                G[:, s.b] = dz
        return G

    # --- one sample, with the slides' matrices -----------------------------------

    def trace(self, x, y, loss="squared") -> Trace:
        """Every quantity of the lecture's backprop slides for ONE sample (x, y): see :mod:`mlplab.trace`.

        Computed with the slides' explicit matrices (V^ℓ, Diag(φ′)) rather than
        the batched code, so it doubles as an independent check of backward.
        """
        return trace(self, x, y, loss)


def _check_layer_sizes(layer_sizes) -> tuple[int, ...]:
    try:
        sizes = tuple(layer_sizes)
    except TypeError:
        raise ValueError(f"layer_sizes must be a list [N_0, ..., N_L], got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least [N_0, N_L], got {list(sizes)!r}")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"layer_sizes must be positive integers, got {list(sizes)!r}")
    return tuple(int(n) for n in sizes)


def _layout(sizes: tuple[int, ...], bias: bool) -> tuple[LayerSlices, ...]:
    out, offset = [], 0
    for n_prev, n in zip(sizes[:-1], sizes[1:]):
        W = slice(offset, offset + n * n_prev)
        offset = W.stop
        b = None
        if bias:
            b = slice(offset, offset + n)
            offset = b.stop
        out.append(LayerSlices(W, b, (n, n_prev)))
    return tuple(out)
