import sys

from mlplab.cli import main

sys.exit(main())
