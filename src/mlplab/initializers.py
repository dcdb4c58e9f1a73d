"""Initial weights w^0.

An initializer fills every W^ℓ (shape (N_ℓ, N_{ℓ−1})) and b^ℓ (shape (N_ℓ,))
from a seeded ``np.random.Generator``; the global NumPy RNG is never touched.

Accepted ``init`` values (see :func:`initialize`):

* ``"zeros"`` — all weights and biases 0;
* ``"constant"`` / ``"constant(c)"`` — all weights and biases c (default 0.1);
* ``"normal"`` / ``"normal(std)"`` — W and b ~ N(0, std²) (default std 0.1);
* ``"uniform"`` / ``"uniform(a)"`` — W and b ~ U(−a, a) (default a 0.1);
* ``"glorot"`` (= ``"glorot_uniform"``) — W ~ U(−r, r), r = √(6 / (N_{ℓ−1} + N_ℓ)); b = 0;
* ``"glorot_normal"`` — W ~ N(0, 2 / (N_{ℓ−1} + N_ℓ)); b = 0;
* ``"he"`` (= ``"he_normal"``) — W ~ N(0, 2 / N_{ℓ−1}); b = 0;
* ``"he_uniform"`` — W ~ U(−r, r), r = √(6 / N_{ℓ−1}); b = 0;
* explicit arrays: a flat vector w of length d, a list of L weight matrices
  (biases 0), or a list of L ``(W, b)`` pairs.
"""

from __future__ import annotations

import re

import numpy as np

_DEFAULT_SCALE = {"constant": 0.1, "normal": 0.1, "uniform": 0.1}
_NAMES = (
    "zeros",
    "constant",
    "normal",
    "uniform",
    "glorot",
    "glorot_uniform",
    "glorot_normal",
    "he",
    "he_normal",
    "he_uniform",
)
_SPEC = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*([^)]*?)\s*\))?\s*$")


def parse_init(spec: str) -> tuple[str, float | None]:
    """Split ``"normal(0.5)"`` into ``("normal", 0.5)``; validate the name and argument."""
    m = _SPEC.match(spec) if isinstance(spec, str) else None
    if m is None or m.group(1) not in _NAMES:
        raise ValueError(
            f"unknown init {spec!r}; valid inits are: {', '.join(_NAMES)} "
            "(constant, normal and uniform take an argument, e.g. 'normal(0.1)'), "
            "or explicit arrays"
        )
    name, arg = m.group(1), m.group(2)
    if arg is None or arg == "":
        return name, None
    if name not in _DEFAULT_SCALE:
        raise ValueError(f"init {name!r} takes no argument, got {spec!r}")
    try:
        value = float(arg)
    except ValueError:
        raise ValueError(f"init {spec!r}: argument {arg!r} is not a number") from None
    if not np.isfinite(value) or (name != "constant" and value <= 0):
        raise ValueError(f"init {spec!r}: argument must be a finite positive number")
    return name, value


def _fill_layer(name, scale, W, b, rng):
    fan_out, fan_in = W.shape
    if name == "zeros":
        W[...] = 0
        if b is not None:
            b[...] = 0
        return
    if name == "constant":
        W[...] = scale
        if b is not None:
            b[...] = scale
        return
    if name == "normal":
        W[...] = rng.normal(0.0, scale, W.shape)
        if b is not None:
            b[...] = rng.normal(0.0, scale, b.shape)
        return
    if name == "uniform":
        W[...] = rng.uniform(-scale, scale, W.shape)
        if b is not None:
            b[...] = rng.uniform(-scale, scale, b.shape)
        return
    if name in ("glorot", "glorot_uniform"):
        r = np.sqrt(6.0 / (fan_in + fan_out))
        W[...] = rng.uniform(-r, r, W.shape)
    elif name == "glorot_normal":
        W[...] = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), W.shape)
    elif name in ("he", "he_normal"):
        W[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), W.shape)
    elif name == "he_uniform":
        r = np.sqrt(6.0 / fan_in)
        W[...] = rng.uniform(-r, r, W.shape)
    if b is not None:
        b[...] = 0


def _fill_explicit(init, params, weights, biases):
    if not isinstance(init, np.ndarray) and all(np.isscalar(v) for v in init):
        init = np.asarray(init, dtype=np.float64)  # a plain list of numbers is a flat w
    if isinstance(init, np.ndarray) and init.ndim == 1:
        if init.shape != params.shape:
            raise ValueError(
                f"explicit init: flat parameter vector has length {init.size}, "
                f"the network needs d = {params.size}"
            )
        if not np.all(np.isfinite(init)):
            raise ValueError("explicit init contains NaN or inf")
        params[...] = init
        return
    items = list(init)
    if len(items) != len(weights):
        raise ValueError(
            f"explicit init: got {len(items)} layers, the network has {len(weights)}"
        )
    for ell, (item, W) in enumerate(zip(items, weights), start=1):
        if isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError(f"explicit init: layer {ell} must be W or a (W, b) pair")
            Wi, bi = item
        else:
            Wi, bi = item, None
        Wi = np.asarray(Wi, dtype=np.float64)
        if Wi.shape != W.shape:
            raise ValueError(
                f"explicit init: W^{ell} has shape {Wi.shape}, expected {W.shape} "
                "(N_ℓ, N_{ℓ-1})"
            )
        W[...] = Wi
        if biases is not None:
            b = biases[ell - 1]
            if bi is None:
                b[...] = 0
            else:
                bi = np.asarray(bi, dtype=np.float64).reshape(-1)
                if bi.shape != b.shape:
                    raise ValueError(
                        f"explicit init: b^{ell} has shape {bi.shape}, expected {b.shape}"
                    )
                b[...] = bi
        elif bi is not None:
            raise ValueError(f"explicit init: layer {ell} has a bias but the network has bias=False")
    if not np.all(np.isfinite(params)):
        raise ValueError("explicit init contains NaN or inf")


def initialize(init, params, weights, biases, rng: np.random.Generator) -> None:
    """Fill ``params`` (through its views ``weights``/``biases``) in place."""
    if isinstance(init, str):
        name, arg = parse_init(init)
        scale = arg if arg is not None else _DEFAULT_SCALE.get(name)
        for ell, W in enumerate(weights):
            _fill_layer(name, scale, W, None if biases is None else biases[ell], rng)
        return
    if isinstance(init, (np.ndarray, list, tuple)):
        _fill_explicit(init, params, weights, biases)
        return
    raise ValueError(
        f"init must be a name such as 'glorot' or 'normal(0.1)', or explicit arrays; got {init!r}"
    )
