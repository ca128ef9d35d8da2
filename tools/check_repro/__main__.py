"""python -m tools.check_repro: see tools/check_repro/cli.py."""

import sys

from tools.check_repro.cli import main

sys.exit(main())
