"""``python -m dskata``: the same as the ``dskata`` command."""

import sys

from dskata.cli import main

sys.exit(main())
