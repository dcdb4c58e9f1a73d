"""The playground's Plotly figure dicts, drawn by the figure library :mod:`mlplab.viz`.

The builders live in :mod:`mlplab.viz.dicts` (arrays in, JSON-able dict out), the
notation converter in :mod:`mlplab.viz.notation`; the report and the PNGs use the
same styles and notation (:mod:`mlplab.viz.style`).
"""

from __future__ import annotations

from mlplab.viz.dicts import (activation_maps, clean, convergence, decision_boundary, layer_gradients, line_search,
                              loss_surface, regression_fit, step_sizes)
from mlplab.viz.notation import html_math, htmlize

__all__ = ["activation_maps", "clean", "convergence", "decision_boundary", "layer_gradients", "line_search",
           "loss_surface", "regression_fit", "step_sizes", "html_math", "htmlize"]
