"""Loading user data for the command line: files, checks, labels, splits, scaling.

* :mod:`~mlplab.data.table`: the :class:`Table` every format gives and :class:`DataError`;
* :mod:`~mlplab.data.files`: :func:`load_file` for every format (Parquet, ``.npz``, ``.npy`` there);
* :mod:`~mlplab.data.csv_files`: CSV / TSV (delimiter, header, target column, exact messages);
* :mod:`~mlplab.data.labels`: checks before training, the task, labels ↔ codes, splits, scaling.

Everything raises :class:`DataError` (a ``ValueError``) with a one-line message naming what is
wrong, where, and how to fix it. The built-in data sets are :mod:`mlplab.datasets`.
"""

from mlplab.data.csv_files import MAX_COLUMNS, csv_header
from mlplab.data.files import EXTENSIONS, file_header, load_file
from mlplab.data.labels import (StandardScaler, check_training_table, codes_for, encode_labels, infer_task,
                                split_indices)
from mlplab.data.table import DataError, Table, check_unique_names

__all__ = ["EXTENSIONS", "MAX_COLUMNS", "DataError", "StandardScaler", "Table", "check_training_table",
           "check_unique_names", "codes_for", "csv_header", "encode_labels", "file_header", "infer_task",
           "load_file", "split_indices"]
