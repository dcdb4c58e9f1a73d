"""The playground's form: raw field values in, a validated :class:`Config` (or per-field messages) out.

Every field the page sends is checked here, and a bad one is reported as
``{field: message}`` (:class:`FormError`) so the page can put the message next
to that field; nothing is built from a form with any error. The names of the
data sets, models and optimizers are the lecture's (see ``OPTIMIZERS``).

Data sets: the engine's built-in sets (:mod:`mlplab.datasets`) plus a 1-D
regression set (``linear-regression`` here is y = 1.5·x + 0.5 + noise·ε with one
input, so the fitted curve can be drawn over the data; the engine's 5-feature set
of the same name cannot be drawn) and an uploaded CSV of 2-D points.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from mlplab import datasets
from mlplab.activations import ACTIVATIONS
from mlplab.initializers import parse_init

DATASETS = {  # name → (label, task, noise default or None when the set is fixed, samples default or None)
    "lecture": ("lecture toy set (4 points)", "classification", None, None),
    "lecture-network": ("lecture backprop network set", "classification", None, None),
    "xor": ("xor", "classification", None, None),
    "moons": ("moons", "classification", 0.1, 200),
    "circles": ("circles", "classification", 0.05, 200),
    "spirals": ("spirals", "classification", 0.05, 200),
    "blobs": ("blobs (3 classes)", "classification", 1.0, 300),
    "linear-regression": ("linear regression (1-D)", "regression", 0.3, 100),
    "upload": ("uploaded CSV", None, None, None),
}

OPTIMIZERS = {
    "gd-exact": "GD, exact line search",
    "gd-armijo": "GD, Armijo backtracking",
    "gd-constant": "GD, constant step",
    "sgd": "SGD (one sample), step γₖ",
    "minibatch": "mini-batch SGD, step γₖ",
    "momentum": "momentum / Nesterov (mini-batch)",
    "adam": "Adam (mini-batch)",
}

SCHEDULES = {
    "inverse": "γₖ = c/(k+1)",
    "constant": "γₖ = c",
    "power": "γₖ = c/(k+1)ᵖ",
    "step": "γₖ = c·0.5^⌊k/every⌋",
    "exponential": "γₖ = c·exp(−r·k)",
}

HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a != "softmax"]
INITS = ["glorot", "he", "normal(0.1)", "normal(1)", "uniform(0.5)", "zeros"]
MAX_SAMPLES = 2000
MAX_WIDTH = 64
MAX_HIDDEN_LAYERS = 6
MAX_UPLOAD_ROWS = 5000
MAX_UPLOAD_BYTES = 2_000_000
MAX_COMPARE = 2


class FormError(ValueError):
    """Bad form fields: ``errors`` maps each field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Config:
    """A validated playground configuration (everything needed to rebuild w^0 and the run)."""

    dataset: str = "lecture"
    n_samples: int = 200
    noise: float = 0.1
    data_seed: int = 0
    model: str = "toy"  # "toy": ŷ = σ(w11 x1 + w12 x2); "mlp": the layers below
    hidden: list[int] = field(default_factory=lambda: [4])
    activations: list[str] = field(default_factory=lambda: ["tanh"])
    bias: bool = True
    test_fraction: float = 0.0  # share of the samples held out as a test set (0: train on all)
    l2: float = 0.0  # λ of the engine's regulariser (λ/2) Σ_ℓ ‖W^ℓ‖²_F (weights only, not biases)
    l1: float = 0.0  # λ₁ of the engine's regulariser λ₁ Σ_ℓ Σ_ij |W^ℓ_ij| (weights only, not biases)
    loss: str = "squared"
    init: str = "glorot"
    seed: int = 0
    optimizer: str = "gd-exact"
    alpha: float = 0.1  # GD constant step
    alpha_max: float = 1e4  # exact line search's cap
    schedule: str = "inverse"
    c: float = 1.0
    p: float = 0.75
    every: int = 100
    rate: float = 1e-3
    batch: int = 2  # the lecture toy set has 4 samples; the page sets 16 for the larger sets
    reduction: str = "sum"  # mini-batch: the lecture's block sum, or the mean
    beta: float = 0.9
    nesterov: bool = False
    b1: float = 0.9
    b2: float = 0.999
    compare: list[str] = field(default_factory=list)  # up to 2 more methods, side by side from the same w^0

    def to_dict(self) -> dict:
        return asdict(self)


# --- field parsing ---------------------------------------------------------------------------


def _num(raw, name, errors, *, integer=False, low=None, high=None, low_open=False, what="a number"):
    """float/int from a form value, or None with a message in errors."""
    if isinstance(raw, bool):
        errors[name] = f"expected {what}, got {raw!r}"
        return None
    if isinstance(raw, (int, float)):
        v = raw
    else:
        s = str(raw).strip()
        if s == "":
            errors[name] = f"required: enter {what}"
            return None
        try:
            v = int(s) if integer else float(s)
        except ValueError:
            errors[name] = f"{s!r} is not {what}"
            return None
    if integer and (not float(v).is_integer()):
        errors[name] = f"{v!r} is not a whole number"
        return None
    if not math.isfinite(v):
        errors[name] = f"{v!r} is not a finite number"
        return None
    if low is not None and (v <= low if low_open else v < low):
        errors[name] = f"must be {'>' if low_open else '≥'} {low:g}, got {v:g}"
        return None
    if high is not None and v > high:
        errors[name] = f"must be ≤ {high:g}, got {v:g}"
        return None
    return int(v) if integer else float(v)


def _choice(raw, name, choices, errors):
    if raw not in choices:
        errors[name] = f"unknown {name} {raw!r}; choose one of {', '.join(choices)}"
        return None
    return raw


def _bool(raw, name, errors):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false", "on", "off", "1", "0"):
        return raw.lower() in ("true", "on", "1")
    errors[name] = f"expected on or off, got {raw!r}"
    return None


def _widths(raw, errors):
    """Hidden widths from "8, 8" (or a list); "" means no hidden layer."""
    items = raw if isinstance(raw, list) else [t for t in str(raw).replace(" ", "").split(",")]
    if items == [""]:
        return []
    out = []
    for t in items:
        try:
            v = int(str(t).strip())
        except ValueError:
            errors["hidden"] = f"{t!r} is not a whole number; give widths like 8,8 (empty for none)"
            return None
        if not 1 <= v <= MAX_WIDTH:
            errors["hidden"] = f"each width must be 1..{MAX_WIDTH}, got {v}"
            return None
        out.append(v)
    if len(out) > MAX_HIDDEN_LAYERS:
        errors["hidden"] = f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(out)}"
        return None
    return out


def parse(form: dict, base: Config | None = None) -> Config:
    """A Config from the page's form (missing fields keep ``base``'s values); FormError on bad fields."""
    if not isinstance(form, dict):
        raise FormError({"form": "the form must be an object of field values"})
    cfg = Config(**(base or Config()).to_dict())
    errors: dict[str, str] = {}
    known = set(Config.__dataclass_fields__)
    for key in form:
        if key not in known:
            errors[key] = f"unknown field {key!r}"
    get = form.get

    def setv(name, value):
        if value is not None:
            setattr(cfg, name, value)

    if "dataset" in form:
        setv("dataset", _choice(get("dataset"), "dataset", list(DATASETS), errors))
    if "n_samples" in form:
        setv("n_samples", _num(get("n_samples"), "n_samples", errors, integer=True, low=4, high=MAX_SAMPLES,
                               what="a whole number of samples"))
    if "noise" in form:
        setv("noise", _num(get("noise"), "noise", errors, low=0.0, high=5.0))
    if "data_seed" in form:
        setv("data_seed", _num(get("data_seed"), "data_seed", errors, integer=True, low=0, high=2**31 - 1,
                               what="a whole number"))
    if "model" in form:
        setv("model", _choice(get("model"), "model", ["toy", "mlp"], errors))
    if "hidden" in form:
        setv("hidden", _widths(get("hidden"), errors))
    if "activations" in form:
        acts = get("activations")
        acts = [acts] if isinstance(acts, str) else acts
        if not isinstance(acts, list) or any(a not in HIDDEN_ACTIVATIONS for a in acts):
            errors["activations"] = f"each hidden activation must be one of {', '.join(HIDDEN_ACTIVATIONS)}"
        else:
            cfg.activations = list(acts)
    if "bias" in form:
        setv("bias", _bool(get("bias"), "bias", errors))
    if "loss" in form:
        setv("loss", _choice(get("loss"), "loss", ["squared", "binary_cross_entropy", "cross_entropy", "absolute"],
                             errors))
    if "init" in form:
        try:
            parse_init(str(get("init")).strip())
            cfg.init = str(get("init")).strip()
        except ValueError as exc:
            errors["init"] = str(exc)
    if "seed" in form:
        setv("seed", _num(get("seed"), "seed", errors, integer=True, low=0, high=2**31 - 1, what="a whole number"))
    if "optimizer" in form:
        setv("optimizer", _choice(get("optimizer"), "optimizer", list(OPTIMIZERS), errors))
    for name, kw in (("alpha", dict(low=0.0, low_open=True, high=1e6)),
                     ("alpha_max", dict(low=0.0, low_open=True, high=1e12)),
                     ("l2", dict(low=0.0, high=1e3)),
                     ("l1", dict(low=0.0, high=1e3)),
                     ("test_fraction", dict(low=0.0, high=0.9)),
                     ("c", dict(low=0.0, low_open=True, high=1e6)),
                     ("p", dict(low=0.0, high=10.0)),
                     ("rate", dict(low=0.0, high=10.0)),
                     ("beta", dict(low=0.0, high=1.0)),
                     ("b1", dict(low=0.0, high=0.9999)),
                     ("b2", dict(low=0.0, high=0.999999))):
        if name in form:
            setv(name, _num(get(name), name, errors, **kw))
    if "every" in form:
        setv("every", _num(get("every"), "every", errors, integer=True, low=1, high=10**9, what="a whole number"))
    if "batch" in form:
        setv("batch", _num(get("batch"), "batch", errors, integer=True, low=1, high=MAX_SAMPLES,
                           what="a whole number of samples"))
    if "schedule" in form:
        setv("schedule", _choice(get("schedule"), "schedule", list(SCHEDULES), errors))
    if "reduction" in form:
        setv("reduction", _choice(get("reduction"), "reduction", ["sum", "mean"], errors))
    if "nesterov" in form:
        setv("nesterov", _bool(get("nesterov"), "nesterov", errors))
    if "compare" in form:
        extra = get("compare")
        extra = [extra] if isinstance(extra, str) else extra
        if not isinstance(extra, list) or any(m not in OPTIMIZERS for m in extra):
            errors["compare"] = f"compare with methods among {', '.join(OPTIMIZERS)}"
        elif len(set(extra)) > MAX_COMPARE:
            errors["compare"] = f"compare with at most {MAX_COMPARE} other methods at once"
        else:
            cfg.compare = list(dict.fromkeys(extra))
    if errors:
        raise FormError(errors)
    # cross-field rules
    if cfg.model == "mlp" and len(cfg.activations) != len(cfg.hidden):
        if len(cfg.activations) == 1 or not cfg.activations:  # one name for every hidden layer
            cfg.activations = (cfg.activations or ["tanh"]) * len(cfg.hidden)
        else:
            errors["activations"] = (f"give one activation per hidden layer: {len(cfg.hidden)} layers, "
                                     f"{len(cfg.activations)} activations")
    if errors:
        raise FormError(errors)
    return cfg


# --- data --------------------------------------------------------------------------------------


def regression_1d(n_samples: int = 100, noise: float = 0.3, seed: int = 0):
    """y = 1.5·x + 0.5 + noise·ε, x uniform on [−2, 2]: X (S, 1), y (S,)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=n_samples)
    return x[:, None], 1.5 * x + 0.5 + noise * rng.normal(size=n_samples)


def parse_csv(text: str):
    """(X, y, task) from an uploaded CSV of 2-D points: columns x1,x2,label (classification,
    labels whole numbers 0..9) or x,y (1-D regression); an optional header row. ValueError with a
    one-line reason otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the file is empty; upload a CSV with columns x1,x2,label or x,y")
    if len(text) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB; upload at most "
                         f"{MAX_UPLOAD_ROWS} rows")
    lines = [ln for ln in io.StringIO(text).read().splitlines() if ln.strip()]
    rows = []
    for i, ln in enumerate(lines):
        cells = [c.strip() for c in ln.replace(";", ",").replace("\t", ",").split(",")]
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            if i == 0:
                continue  # a header
            raise ValueError(f"line {i + 1} is not numeric ({ln.strip()[:40]!r}); every row must hold numbers "
                             "x1,x2,label or x,y") from None
    if len(rows) < 2:
        raise ValueError("need at least 2 numeric rows (x1,x2,label or x,y)")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise ValueError(f"{len(rows)} rows; the playground takes at most {MAX_UPLOAD_ROWS}")
    widths = {len(r) for r in rows}
    if len(widths) != 1 or widths.pop() not in (2, 3):
        raise ValueError("every row must have 3 columns x1,x2,label (2-D points) or 2 columns x,y (a 1-D curve)")
    A = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(A)):
        raise ValueError("the file holds inf or NaN; every value must be a finite number")
    if A.shape[1] == 2:
        return A[:, :1], A[:, 1], "regression"
    y = A[:, 2]
    if not np.all(y == np.round(y)) or y.min() < 0 or y.max() > 9:
        raise ValueError("labels (third column) must be whole numbers 0..9 for classes")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("the labels hold one class only; a classifier needs at least 2")
    y = np.searchsorted(classes, y).astype(np.float64)  # 0..K−1
    return A[:, :2], y, "classification"


def load_data(cfg: Config, upload=None):
    """(X, y, task) for the configuration; ``upload`` is (X, y, task) of the uploaded CSV."""
    name = cfg.dataset
    if name == "upload":
        if upload is None:
            raise FormError({"dataset": "no CSV uploaded yet: choose a file first"})
        return upload
    if name == "linear-regression":
        X, y = regression_1d(cfg.n_samples, cfg.noise, cfg.data_seed)
        return X, y, "regression"
    if DATASETS[name][2] is None:
        X, y = datasets.load(name)
    else:
        X, y = datasets.load(name, n_samples=cfg.n_samples, noise=cfg.noise, seed=cfg.data_seed)
    return X, y, "classification"


def n_classes(y, task) -> int:
    return 0 if task == "regression" else int(np.max(y)) + 1
