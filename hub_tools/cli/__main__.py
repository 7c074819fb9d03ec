"""``python -m hub_tools.cli``: the same as the ``lintseq`` command."""

import sys

from hub_tools.cli import main

sys.exit(main())
