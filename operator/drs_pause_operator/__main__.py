"""``python -m drs_pause_operator`` is the ``drs-pause-operator`` command."""

import sys

from .cli import main

sys.exit(main())
