"""``python -m flightdeck.apps.loadgen [TARGET] [--rate R] [--concurrency N] [--duration D] [--requests N]``."""

import sys

from flightdeck.apps.loadgen.cli import main

sys.exit(main())
