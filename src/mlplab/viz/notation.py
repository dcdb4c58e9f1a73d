"""The lecture's notation written for each target: Unicode, HTML (the page, Plotly), mathtext (matplotlib).

A label is written once, the way the lecture writes it (``‖∇_{W^ℓ}E‖_F``,
``γ_k``, ``a^{ℓ−1}``), and turned into what each target draws:

* :func:`pretty`: Unicode super/subscripts where they exist (``γ_k`` → ``γₖ``);
  the PNG titles and the page's plain text.
* :func:`html_math`: Plotly's HTML (``γ_k`` → ``γ<sub>k</sub>``); :func:`htmlize`
  applies it to every label of a figure dict.
* :func:`html_text`: text for the HTML page: escaped, Unicode first, the
  remaining braces as ``<sub>``/``<sup>``.
* :func:`mathtext`: matplotlib's TeX subset (``‖∇_{W^ℓ}E‖_F`` → ``$\\|\\nabla_{W^\\ell}E\\|_F$``).
"""

from __future__ import annotations

import html
import re

__all__ = ["pretty", "html_math", "htmlize", "html_text", "mathtext"]

_SUP = {"0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
        "k": "ᵏ", "L": "ᴸ", "ℓ": "ˡ", "+": "⁺", "−": "⁻", "-": "⁻", "T": "ᵀ", "*": "*", "n": "ⁿ"}
_SUB = {"k": "ₖ", "0": "₀", "1": "₁", "2": "₂", "i": "ᵢ", "j": "ⱼ"}


def pretty(text: str) -> str:
    """The lecture's ASCII notation in Unicode: 'γ_k' → 'γₖ', 'w^0' → 'w⁰', 'V^{ℓ+1}' → 'Vˡ⁺¹'."""
    def sup(m):
        body = m.group(1) or m.group(2)
        return "".join(_SUP.get(c, c) for c in body) if all(c in _SUP for c in body) else m.group(0)

    def sub(m):
        body = m.group(1) or m.group(2)
        return "".join(_SUB.get(c, c) for c in body) if all(c in _SUB for c in body) else m.group(0)

    text = re.sub(r"\bgamma_", "γ_", re.sub(r"\balpha\^", "α^", str(text)))  # the CLI's ASCII names
    text = re.sub(r"\^\{([^}]*)\}|\^([0-9]+|[kLℓT*n])(?![A-Za-z0-9])", sup, str(text))
    return re.sub(r"_\{([^}]*)\}|_([k0-2ij])(?![A-Za-z0-9])", sub, text)


_BRACED = re.compile(r"([\^_])\{([^{}]*)\}")
_SINGLE = re.compile(r"([\^_])([0-9]+|max|min|[A-Za-zℓ](?![A-Za-z0-9]))")
_TEXT_KEYS = ("name", "text", "title")
_TAG = {"^": "sup", "_": "sub"}


def html_math(text: str) -> str:
    """The lecture's TeX-like notation as Plotly's HTML: ``∇_{W^ℓ}E`` → ``∇<sub>W<sup>ℓ</sup></sub>E``,
    ``a^1_3`` → ``a<sup>1</sup><sub>3</sub>``, ``γ_k`` → ``γ<sub>k</sub>`` (names such as
    ``binary_cross_entropy`` stay as they are)."""
    for _ in range(4):  # braces, innermost first
        new = _BRACED.sub(lambda m: f"<{_TAG[m[1]]}>{m[2]}</{_TAG[m[1]]}>", text)
        if new == text:
            break
        text = new
    return _SINGLE.sub(lambda m: f"<{_TAG[m[1]]}>{m[2]}</{_TAG[m[1]]}>", text)


def htmlize(fig):
    """Every label of a figure dict (trace names, titles, annotation texts) through :func:`html_math`."""
    if isinstance(fig, dict):
        out = {}
        for key, value in fig.items():
            if key in _TEXT_KEYS and isinstance(value, str):
                out[key] = html_math(value)
            else:
                out[key] = htmlize(value)
        return out
    if isinstance(fig, list):
        return [htmlize(v) if isinstance(v, (dict, list)) else v for v in fig]
    return fig


def html_text(text) -> str:
    """Text for the page: escaped, the lecture's notation in Unicode, remaining sub/superscripts as HTML."""
    t = html.escape(pretty(str(text)), quote=False)
    t = re.sub(r"_\{([^{}]*)\}", r"<sub>\1</sub>", t)
    t = re.sub(r"\^\(([−\-0-9.]+)\)", r"<sup>\1</sup>", t)
    return re.sub(r"\^\{([^{}]*)\}", r"<sup>\1</sup>", t)


_TEX = {"‖": r"\|", "∇": r"\nabla", "ℓ": r"\ell", "δ": r"\delta", "φ": r"\varphi", "σ": r"\sigma", "⋯": r"\cdots",
        "′": "'", "−": "-", "·": r"\,", "¼": "1/4", "≤": r"\leq", "Diag": r"\mathrm{Diag}"}


def mathtext(formula: str) -> str:
    """A formula in the lecture's notation as matplotlib mathtext: ``‖δ^ℓ‖ = ‖V^{ℓ+1}⋯V^Lδ^L‖`` →
    ``$\\|\\delta^\\ell\\| = \\|V^{\\ell+1}\\cdots V^L\\delta^L\\|$`` (· is a thin space; braces and ^, _ stay)."""
    tokens = re.findall(r"Diag|.", formula)
    out = []
    for i, tok in enumerate(tokens):
        tex = _TEX.get(tok, tok)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tex[:1] == "\\" and tex[1:].isalpha() and nxt.isalpha() and nxt not in _TEX:
            tex += " "  # a control word followed by a letter: '\cdots V', not '\cdotsV'
        out.append(tex)
    return "$" + "".join(out) + "$"
