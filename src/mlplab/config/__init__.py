"""The options of a run, declared once, and the run they describe; below every edge.

The command line (:mod:`mlplab.cli`) builds its parsers from here, ``--config`` TOML files are read
here, and the sweeps (:mod:`mlplab.sweeps`) check each run's options with the same types and
messages; neither edge imports the other. This package imports the engine and the standard
library only. Read in this order:

* :mod:`~mlplab.config.types`: the value types (each one a check with its message), :class:`UserError`,
  and :class:`Parser` (argparse raising :class:`UserError`);
* :mod:`~mlplab.config.options`: every option (flag, type, default, help) and which subcommands take it;
* :mod:`~mlplab.config.files`: a ``--config`` TOML file → the flags it stands for;
* :mod:`~mlplab.config.data`: the data options → a :class:`mlplab.data.Table`;
* :mod:`~mlplab.config.settings`: options + data → every training choice (:func:`resolve`);
* :mod:`~mlplab.config.run`: the settings → network w^0, optimizer, splits; a finished run's records;
* :mod:`~mlplab.config.methods`: ``compare --method`` specs → optimizer settings.
"""

from mlplab.config.data import is_builtin, load_data
from mlplab.config.files import command_parser, config_tokens, read_config, read_config_text
from mlplab.config.methods import method_list, parse_method
from mlplab.config.options import COMMANDS, Option, add_options, options_of
from mlplab.config.run import (HISTORY_ROWS, build_net, build_optimizer, evaluate_metrics, finite, model_extra,
                               predict_codes, prepare_run, split_metrics, targets, training_summary)
from mlplab.config.settings import MAX_WEIGHT, TRAIN_ONLY, describe_optimizer, optimizer_config, resolve
from mlplab.config.types import (FRACTION, NONNEG, NONNEG_INT, POSITIVE, POSITIVE_INT, Parser, UserError,
                                 init_spec, int_list, integer, number, port, steps_or_epochs)

__all__ = ["COMMANDS", "FRACTION", "HISTORY_ROWS", "MAX_WEIGHT", "NONNEG", "NONNEG_INT", "Option", "POSITIVE",
           "POSITIVE_INT", "Parser", "TRAIN_ONLY", "UserError", "add_options", "build_net", "build_optimizer",
           "command_parser", "config_tokens", "describe_optimizer", "evaluate_metrics", "finite", "init_spec",
           "int_list", "integer", "is_builtin", "load_data", "method_list", "model_extra", "number", "optimizer_config",
           "options_of", "parse_method", "port", "predict_codes", "prepare_run", "read_config", "read_config_text",
           "resolve", "split_metrics", "steps_or_epochs", "targets", "training_summary"]
