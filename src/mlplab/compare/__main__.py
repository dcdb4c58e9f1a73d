"""``python -m mlplab.compare``: print the default comparison's table."""

import sys

from mlplab.compare.export import main

sys.exit(main())
