"""What the figures of a :class:`mlplab.compare.Comparison` show: their data, styles and words.

The figure library is :mod:`mlplab.viz`; this module keeps its data names importable
from their first home. Neither plotting library is imported here.
"""

from __future__ import annotations

from mlplab.viz.flow import CANONICAL_PAIRS, FlowLines, flow_lines, output_saturation_harmless
from mlplab.viz.iterates import (N_LOG, N_SNAPSHOTS, SET_BY_REFERENCE, TAIL, THIN_ABOVE, gap_split, longest_run,
                                 reference_margin, snapshot_indices, step_symbol, thin_indices)
from mlplab.viz.notation import pretty
from mlplab.viz.plane import (HIDDEN_MAP_COLUMNS, MAX_HIDDEN_MAPS, DecisionData, accuracy, constant_text,
                              decision_data, decision_view, hidden_map_grid, hidden_maps)
from mlplab.viz.style import (BOUNDED_RANGES, FEW_POINTS, NONNEGATIVE, RUN_COLORS, RUN_DASHES, RUN_MARKERS,
                              UNIT_COLORSCALE, UNIT_COLORSCALE_POSITIVE, run_color, run_dash, run_marker,
                              unit_colorscale, unit_range, unit_ranges)
from mlplab.viz.surface import PathData, SurfaceView, comparison_surface, infimum_curve, log_levels
from mlplab.viz.plan import HISTORY_FIGURES, figure_plan
from mlplab.viz.words import CAPTIONS, COST_LABEL

__all__ = ["COST_LABEL", "thin_indices", "snapshot_indices", "SurfaceView", "PathData", "comparison_surface",
           "infimum_curve", "decision_view", "decision_data", "hidden_maps", "flow_lines", "figure_plan",
           "pretty", "run_color", "run_dash", "run_marker", "longest_run", "step_symbol", "CAPTIONS", "log_levels",
           "gap_split", "reference_margin", "unit_range", "unit_ranges",
           "CANONICAL_PAIRS", "FlowLines", "output_saturation_harmless", "N_LOG", "N_SNAPSHOTS", "SET_BY_REFERENCE",
           "TAIL", "THIN_ABOVE", "HIDDEN_MAP_COLUMNS", "MAX_HIDDEN_MAPS", "DecisionData", "accuracy",
           "constant_text", "hidden_map_grid", "BOUNDED_RANGES", "FEW_POINTS", "NONNEGATIVE", "RUN_COLORS",
           "RUN_DASHES", "RUN_MARKERS", "UNIT_COLORSCALE", "UNIT_COLORSCALE_POSITIVE", "unit_colorscale",
           "HISTORY_FIGURES"]
