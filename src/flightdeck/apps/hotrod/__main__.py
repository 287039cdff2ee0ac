"""``python -m flightdeck.apps.hotrod all|frontend|customer|driver|route``."""

import sys

from flightdeck.apps.hotrod.app import main

sys.exit(main())
