"""``python -m dae_core``: the command line (``dae_core.cli``)."""

import sys

from dae_core.cli.main import main

sys.exit(main())
