"""`python -m tests.mutation`: see tests/mutation/tool.py."""

import sys

from tests.mutation.tool import main

sys.exit(main())
