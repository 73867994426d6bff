"""``python -m bpnn`` is the ``bpnn`` command."""

import sys

from .cli import main

sys.exit(main())
