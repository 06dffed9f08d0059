"""``python -m zjfin``: the same as the ``zjfin`` command."""

import sys

from zjfin._cli import main

sys.exit(main())
