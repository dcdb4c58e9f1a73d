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
import scipy.sparse

from mlplab import _blas
from mlplab._checks import make_rng
from mlplab.activations import Activation, get_activation
from mlplab.initializers import initialize
from mlplab.inputs import input_grad, input_product, issparse  # noqa: F401 (importable from here too)
from mlplab.losses import get_loss, output_error

_DTYPES = {"float64": np.float64, "float32": np.float32}


def resolve_dtype(dtype) -> np.dtype:
    """Return np.float64 / np.float32 for the accepted spellings; ValueError otherwise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in _DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return dt


def _describe(a) -> str:
    """What ``a`` is, for an error message about an ``out=`` argument."""
    if isinstance(a, np.ndarray):
        return f"shape {a.shape}, dtype {a.dtype.name}" + ("" if a.flags.c_contiguous else ", not contiguous")
    return type(a).__name__


class Workspace:
    """Preallocated Z^ℓ and δ^ℓ buffers for passes over blocks of S rows.

    The training loop's block gradients run forward and backward on the same
    block size step after step; writing Z^ℓ = A^{ℓ−1} (W^ℓ)ᵀ and
    δ^{ℓ−1} = dZ^ℓ W^ℓ into the same memory each time (``out=``) saves the
    allocation and page faults of these (S, N_ℓ) temporaries. A pass that uses a
    workspace overwrites the previous one's Z and δ, so it is only used where
    they are consumed at once (:meth:`mlplab.objective.Problem.value_and_grad`
    on a block) and never handed to users.
    """

    def __init__(self, sizes: Sequence[int], S: int, dtype):
        self.Z = [np.empty((S, n), dtype=dtype) for n in sizes[1:]]  # Z^1 … Z^L
        # δ^1 … δ^{L−1}, each overwritten in place by ∂e/∂z^ℓ = Diag(φ′(z^ℓ)) δ^ℓ
        self.delta = [np.empty((S, n), dtype=dtype) for n in sizes[1:-1]]


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
        from mlplab._memory import check_memory  # before allocating: a clean error, not a bare MemoryError

        check_memory(self.n_params * self.dtype.itemsize, f"the weights of a {'-'.join(map(str, sizes))} network "
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

    def _views(self, w: np.ndarray):
        """``unpack(w)``, remembered for the last w: the training loop passes the same array each step."""
        last = self.__dict__.get("_last_views")
        if last is None or last[0] is not w:
            last = self._last_views = (w, *self.unpack(w))
        return last[1], last[2]

    def workspace(self, S: int) -> Workspace:
        """The :class:`Workspace` for blocks of S rows (kept for the four latest sizes:
        a shuffled epoch's blocks of |B| and its last, smaller one; the full passes'
        chunks and their last one)."""
        spaces = self.__dict__.setdefault("_workspaces", {})
        if S not in spaces:
            if len(spaces) >= 4:
                spaces.pop(next(iter(spaces)))
            spaces[S] = Workspace(self.layer_sizes, S, self.dtype)
        return spaces[S]

    def copy(self, dtype=None) -> "MLP":
        """An independent network with the same architecture and a copy of w (in ``dtype`` if given)."""
        new = object.__new__(MLP)
        new.__dict__.update(self.__dict__)
        new.dtype = self.dtype if dtype is None else resolve_dtype(dtype)
        new.params = self.params.astype(new.dtype)  # a copy
        new.weights, new.biases = new.unpack(new.params)
        new._last_views, new._workspaces = None, {}
        return new

    def __getstate__(self):
        # weights/biases are views into params; pickle params once and rebuild the views
        # (the view and workspace caches are rebuilt on demand)
        state = self.__dict__.copy()
        for key in ("weights", "biases", "_last_views", "_workspaces"):
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
        if scipy.sparse.issparse(X):
            return self._check_sparse_X(X), False
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
        if not _blas.all_finite(arr):  # one BLAS dot, no (S, N_0) mask unless it finds something
            row, col = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(f"X contains NaN or inf (row {row}, column {col}); remove or impute it")
        return arr, one

    def _check_sparse_X(self, X):
        if X.ndim != 2:
            raise ValueError(f"sparse inputs X must be 2-D (samples, features), got shape {X.shape}")
        if X.dtype.kind not in "biuf":
            raise ValueError(f"inputs X must be real numbers, got dtype {X.dtype}")
        if X.shape[1] != self.n_inputs:
            raise ValueError(f"X has {X.shape[1]} features but the network expects N_0 = {self.n_inputs}")
        if X.shape[0] == 0:
            raise ValueError("X has no samples; give at least one row")
        X = X.tocsr().astype(self.dtype, copy=False)  # rows are samples: blocks are row slices of CSR
        if not np.all(np.isfinite(X.data)):
            row = int(np.searchsorted(X.indptr, np.flatnonzero(~np.isfinite(X.data))[0], side="right")) - 1
            raise ValueError(f"X contains NaN or inf (row {row}); remove or impute it")
        return X

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
        weights, biases = self._views(self.params if w is None else w)
        Zs, As = [], [X]
        for ell, (W, act) in enumerate(zip(weights, self.activations)):
            if ell == 0 and Z1 is not None:
                Z = Z1
            else:
                # z^ℓ = W^ℓ a^{ℓ−1}, for every sample (row) at once; W.T is a transposed view
                out = None if ws is None else ws.Z[ell]
                Z = input_product(X, W, out) if ell == 0 else _blas.matmul(As[-1], W.T, out=out)
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
        weights, _ = self._views(self.params if w is None else w)
        dz = dz_L
        for ell in range(self.n_layers, 0, -1):
            yield ell, dz, As[ell - 1]
            if ell > 1:
                buf = None if ws is None else ws.delta[ell - 2]
                delta = _blas.matmul(dz, weights[ell - 1], out=buf)  # δ^{ℓ−1} = (W^ℓ)ᵀ Diag(φ′(z^ℓ)) δ^ℓ = V^ℓ δ^ℓ
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
            if ell == 1 and scipy.sparse.issparse(a_prev):  # dZᵀ X through scipy.sparse
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
                _blas.gemm_update(gW, 1.0, dz.T, a_prev, 1.0)  # gW + dZᵀ A^{ℓ−1}
            else:
                _blas.matmul(dz.T, a_prev, out=gW)  # dZᵀ A^{ℓ−1}: dZᵀ is a transposed view, no copy
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
            if scipy.sparse.issparse(a_prev):  # the rows' outer products are dense anyway: (S, d) ⊇ (S, N_0)
                a_prev = a_prev.toarray()
            block = G[:, s.W].reshape(S, *s.shape)
            np.multiply(dz[:, :, None], a_prev[:, None, :], out=block)
            if s.b is not None:
                G[:, s.b] = dz
        return G

    # --- convenience front doors (the objective lives in mlplab.objective) ---

    def loss_and_grad(self, X, Y, loss="squared", *, l2=0.0, reduction="sum", sample_weight=None, out=None):
        """E(w) and ∇_w E(w) at the current parameters.

        E(w) = R(Σ_s c_s e(y^s, ŷ^s)) + (λ/2) Σ_ℓ ‖W^ℓ‖²_F, with R the identity for
        ``reduction="sum"`` (the lecture) or division by S for ``"mean"``, c_s the
        optional sample weights and λ = ``l2`` (biases are not regularised).
        See :mod:`mlplab.losses` for the targets each loss accepts.

        The pass's temporaries (Z^ℓ, δ^ℓ) live in buffers the network keeps per batch size,
        so a loop over batches allocates little; what is returned is never such a buffer.

        Args:
            out: a (d,) C-contiguous array of the network's dtype to write ∇E into
                (returned as g); default: a new array.

        Returns:
            (E, g): E as a Python float, g = ∇_w E of shape (d,) in the ``params`` layout.
        """
        from mlplab.objective import Problem  # the objective sits above the network

        if out is not None and not (isinstance(out, np.ndarray) and out.shape == (self.n_params,)
                                    and out.dtype == self.dtype and out.flags.c_contiguous
                                    and out.flags.writeable):
            raise ValueError(f"out must be a writable C-contiguous array of shape ({self.n_params},) and dtype "
                             f"{self.dtype.name}, got {_describe(out)}; pass np.empty_like(net.params)")
        problem = Problem(self, X, Y, loss, l2=l2, reduction=reduction, sample_weight=sample_weight)
        return problem.value_and_grad(self.params, out=out)

    def per_sample_grads(self, X, Y, loss="squared") -> np.ndarray:
        """Array (S, d) whose row s is ∇_w e^s (no regulariser, no reduction).

        The rows sum to the gradient of ``loss_and_grad`` with ``reduction="sum"``, l2 = 0.
        """
        from mlplab.objective import Problem

        return Problem(self, X, Y, loss).per_sample_grads(self.params)

    def trace(self, x, y, loss="squared") -> "Trace":
        """Every quantity of the lecture's backprop slides for ONE sample (x, y).

        Computed with the slides' explicit matrices (V^ℓ, Diag(φ′)) rather than
        the batched code, so it doubles as an independent check of backward.
        See :class:`Trace`.
        """
        if scipy.sparse.issparse(x):  # one sample: its dense row
            x = x.toarray()
        X, _ = self.check_X(np.asarray(x).reshape(-1) if np.ndim(x) <= 1 else x)
        if X.shape[0] != 1:
            raise ValueError(f"trace takes one sample, got {X.shape[0]}")
        lossf = get_loss(loss)
        out_act = self.activations[-1]
        lossf.check_output_activation(out_act.name)
        y_arr = np.asarray(y)
        # one number is a target (N_L = 1) or a class label; otherwise one row of targets
        Y = lossf.prepare_targets(y_arr.reshape(1) if y_arr.size == 1 else y_arr.reshape(1, -1),
                                  self.n_outputs, self.dtype)
        if Y.shape[0] != 1:
            raise ValueError("trace takes the target of one sample")
        Zs, As = self.forward_cache(X)
        z = [Z[0] for Z in Zs]
        a = [A[0] for A in As]
        yv = Y[0]
        e, dz_L = output_error(lossf, out_act, Y, Zs[-1], As[-1])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            delta_L = lossf.grad(Y, As[-1])[0]  # δ^L = ∂e/∂ŷ
        L = self.n_layers
        layers: list[LayerTrace | None] = [None] * L
        delta = delta_L
        for ell in range(L, 0, -1):
            W = self.weights[ell - 1]
            act = self.activations[ell - 1]
            J = act.jacobian(z[ell - 1], a[ell])  # Diag(φ′(z^ℓ)) (softmax: full Jacobian)
            V = W.T @ J  # V^ℓ = (W^ℓ)ᵀ Diag(φ′(z^ℓ))
            if ell == L and out_act.name in lossf.logit_forms:
                dz = dz_L[0]  # the pair's closed form of Diag(φ′) δ^L (finite when δ^L is not)
            else:
                dz = J @ delta  # ∂e/∂z^ℓ = Diag(φ′(z^ℓ)) δ^ℓ
            layers[ell - 1] = LayerTrace(
                layer=ell,
                W=W.copy(),
                b=None if self.biases is None else self.biases[ell - 1].copy(),
                z=z[ell - 1],
                a=a[ell],
                dphi=np.diag(J).copy() if act.elementwise else J,
                delta=delta,
                V=V,
                grad_W=np.outer(dz, a[ell - 1]),  # Diag(φ′) δ^ℓ (a^{ℓ−1})ᵀ
                grad_b=dz.copy() if self.bias else None,
            )
            delta = W.T @ dz  # δ^{ℓ−1} = (W^ℓ)ᵀ Diag(φ′(z^ℓ)) δ^ℓ = V^ℓ δ^ℓ
        return Trace(x=a[0], y=yv, yhat=a[-1], e=float(e[0]), loss=lossf.name, layers=layers)


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
        from mlplab import _html

        return [str(self.layer)] + [_html.array(v) if v is not None else "–" for v in
                                    (self.z, self.a, self.dphi, self.delta, self.V, self.grad_W, self.grad_b)]

    def _repr_html_(self) -> str:
        from mlplab import _html

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
        """∇_w e in the flat ``params`` layout."""
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
        from mlplab import _html

        top = _html.pairs([("x = a^0", _html.array(self.x)), ("y", _html.array(self.y)),
                           ("ŷ = a^L", _html.array(self.yhat)), (f"e = {self.loss}(y, ŷ)", f"{self.e:.10g}")],
                          title="Trace: one sample, forward and backward")
        return top + _html.table([lt._html_row() for lt in self.layers], _TRACE_HEAD)


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
