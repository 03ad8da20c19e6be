"""``python -m dialfsm``: the same as the ``dialfsm`` command."""

import sys

from dialfsm._cli import main

sys.exit(main())
