"""The one figure library: the HTML report, the PNGs and the playground draw from here.

Data in one direction: runs → :class:`mlplab.compare.Comparison` (numbers) →
what to draw (the data modules) → a drawing library (the builder modules) →
:mod:`mlplab.report` (the page), :mod:`mlplab.plots` (PNG files), the
playground (:mod:`mlplab.playground.figures`).

What to draw (NumPy only, no plotting library):

* :mod:`~mlplab.viz.notation` — the lecture's notation as Unicode, HTML or mathtext;
* :mod:`~mlplab.viz.style` — run colours, dashes, markers, class colours, colour scales;
* :mod:`~mlplab.viz.words` — the cost axis, formulas, verdict words, captions;
* :mod:`~mlplab.viz.iterates` — which records are drawn, the slider's snapshots, E − E*;
* :mod:`~mlplab.viz.surface` — the loss surface zoomed to the paths;
* :mod:`~mlplab.viz.plane` — the decision boundary and hidden units over a 2-D input plane;
* :mod:`~mlplab.viz.flow` — gradient flow against depth;
* :mod:`~mlplab.viz.plan` — which figures a comparison gets.

Builders (each imports its drawing library): ``plotly_*`` (the report's
``go.Figure`` s; ``plotly_base`` their shared look), ``mpl_*`` (matplotlib
figures for the PNGs; ``mpl_base``), :mod:`~mlplab.viz.dicts` (the playground's
plain-dict Plotly figures). Importing this package imports neither library.
"""

from mlplab.viz.flow import FlowLines, flow_lines
from mlplab.viz.iterates import gap_split, snapshot_indices, snapshots, thin_indices
from mlplab.viz.notation import html_math, html_text, htmlize, mathtext, pretty
from mlplab.viz.plan import figure_plan
from mlplab.viz.plane import DecisionData, decision_data, hidden_maps, unit_maps
from mlplab.viz.style import run_color, run_dash, run_marker, unit_colorscale, unit_range, unit_ranges
from mlplab.viz.surface import SurfaceView, comparison_surface
from mlplab.viz.words import CAPTIONS, COST_LABEL

__all__ = ["FlowLines", "flow_lines", "gap_split", "snapshot_indices", "snapshots", "thin_indices", "html_math",
           "html_text", "htmlize", "mathtext", "pretty", "figure_plan", "DecisionData", "decision_data",
           "hidden_maps", "unit_maps", "run_color", "run_dash", "run_marker", "unit_colorscale", "unit_range",
           "unit_ranges", "SurfaceView", "comparison_surface", "CAPTIONS", "COST_LABEL"]
