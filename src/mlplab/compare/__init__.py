"""Compare optimizers from the same w^0 with the same budget in sample-gradient equivalents.

:func:`run_comparison` trains one copy of the network per optimizer spec —
by default the lecture's three: GD with exact line search, SGD with
γ_k = 1/(k+1), mini-batch SGD (|B_k| = 2, γ_k = 1/(k+1)) — recording every
iterate w^k (``eval_every=1``; those records are not counted in the cost), and
stops each run once its cost reaches the budget. Cost is counted in
sample-gradient equivalents, ``history.grad_equivalents`` = sample gradients +
(line-search forward passes) / 3: a gradient is a forward and a backward pass,
about three forward passes, so GD's line search is charged for the forward
passes it makes, not a full gradient per evaluation of E. The returned :class:`Comparison`
holds the histories, trajectories, fitted rates next to the lecture's theory,
and where each run stopped. Every run is held to the budget: a step whose line
search would carry the cost past it is cut off there and not taken (see
:func:`hold_to_budget`).

Data only: the data flows one way, runs → :class:`Comparison` (here) →
the figure library (:mod:`mlplab.viz`) → matplotlib PNGs (:mod:`mlplab.plots`)
or the Plotly page (:mod:`mlplab.report`); only :meth:`Comparison.plot` draws,
taking its figure from :mod:`mlplab.viz` when called.
:func:`write_history` exports the recorded histories (CSV or JSON).

* :mod:`~mlplab.compare.runs` — :class:`Run`, :class:`Comparison`;
* :mod:`~mlplab.compare.reference` — E* below the best E, the fitted rates, holding a run to the budget;
* :mod:`~mlplab.compare.build` — :func:`run_comparison`, :func:`from_result`;
* :mod:`~mlplab.compare.export` — the histories as CSV/JSON, the table as text, ``python -m mlplab.compare``.

``python -m mlplab.compare [--budget 1000] [--seed 0]`` prints the default comparison on the lecture's toy problem (``mlplab compare
--report/--plots`` draws it). NumPy/SciPy only.
"""

from mlplab.compare.build import default_specs, describe_net, from_result, run_comparison
from mlplab.compare.export import format_table, history_table, main, write_history
from mlplab.compare.reference import (E_MARGIN, NONNEGATIVE_LOSSES, History_slice, fit_run_rate, hold_to_budget,
                                      reference_below_best)
from mlplab.compare.runs import COST_LABEL, Comparison, Run

__all__ = ["Run", "Comparison", "COST_LABEL", "run_comparison", "from_result", "default_specs", "describe_net",
           "reference_below_best", "fit_run_rate", "hold_to_budget", "History_slice", "E_MARGIN",
           "NONNEGATIVE_LOSSES", "history_table", "write_history", "format_table", "main"]
