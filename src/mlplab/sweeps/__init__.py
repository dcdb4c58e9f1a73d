"""Sweeps: many ``mlplab train`` runs from one spec, on this machine or a Ray cluster, resumable, in SQLite.

    import mlplab
    spec = {"data": "moons", "hidden": [8], "epochs": 30,
            "grid": {"optimizer": ["sgd", "minibatch", "adam"], "lr": [0.1, 0.01], "seed": [0, 1]}}
    runs = mlplab.sweep(spec, out="sweep-out", workers=2)   # one row per run (a pandas DataFrame)
    mlplab.sweeps.summarize(runs)                          # grouped by everything but the seed

The spec (:mod:`mlplab.sweeps.spec`) is a ``mlplab train --config`` file plus a
``[grid]`` (and optionally ``[random]``) table. Every combination is resolved
and checked by ``mlplab train``'s own code before any run starts. The driver
(:func:`run`) stores each run in ``DIR/results.sqlite`` (:mod:`mlplab.sweeps.store`)
and its model in ``DIR/models/``; it skips runs already done, so running the
same sweep again resumes it. Runs execute on a local process pool or on Ray
(:mod:`mlplab.sweeps.backends`); a worker that dies gets its run retried
twice, then the run is ``failed``; a run that diverges is a result
(``diverged``), not an error. A lost Ray head stops the sweep at once
(:class:`ClusterLost`), the runs in flight pending again with no retry spent.

Searching: ``[search] early_stop`` runs successive halving (a whole rung promoted at once) over the
configurations (:class:`Halving`), ``[search] sampler = "tpe"`` lets Optuna's TPE
propose the ``[random]`` points (:class:`TPE`); both resume from the store.
:func:`summarize` ranks the configurations by any recorded metric, counting
diverged and failed seeds against a configuration; :func:`best` writes the best
run as a ``mlplab train --config`` file.

The package, in the order a run goes through it:

==============  ======================================================================
``spec``        the spec file → every run, with the [search] options (halving's rungs, TPE's parts)
``grid``        the [grid] and [random] tables → the combinations of swept values
``resolver``    each combination → ``train``'s settings, as ``mlplab train --config`` resolves them
``driver``      :func:`run` and :func:`sweep`: the folder's checks, the lock, the loop over results
``schedulers``  which run goes next: in order (:class:`Plain`), :class:`Halving`, :class:`TPE`
``backends``    where runs execute: the local process pool or Ray
``runner``      one run in a worker: ``mlplab train``'s settings to a stored result
``store``       ``results.sqlite``: one row per run, written by the driver only
``reading``     :func:`load_runs`, :func:`summarize`, :func:`best` (a results folder read back)
``results``     the tables: one row per run, grouped by everything but the seed, ranked
``report``      the HTML report; its figures in ``figures``, its verdict tables in ``findings``
==============  ======================================================================

This package is an edge of mlplab, like the CLI: ``import mlplab`` does not
import it (``mlplab.sweep`` loads it on first use).
"""

# the public names of the package; those outside __all__ are its parts, reachable as mlplab.sweeps.NAME
from mlplab.sweeps.driver import (BACKENDS, MAX_ATTEMPTS, ClusterLost, Outcome, check_out,  # noqa: F401
                                  make_backend, run, sweep)
from mlplab.sweeps.reading import best, load_runs, summarize, to_toml, train_options  # noqa: F401
from mlplab.sweeps.schedulers import TPE, Halving, Plain, score  # noqa: F401
from mlplab.sweeps.spec import SpecError, describe, expand, expand_spec  # noqa: F401

__all__ = ["sweep", "run", "load_runs", "summarize", "best", "describe", "expand", "SpecError", "ClusterLost",
           "Outcome", "MAX_ATTEMPTS"]
