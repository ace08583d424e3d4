"""``python -m bpcheck.cli``: the same command as ``bpcheck`` (benchmarks.grading runs it so)."""

import sys

from bpcheck.cli.main import main

sys.exit(main())
