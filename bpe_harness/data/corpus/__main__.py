"""``python -m bpe_harness.data.corpus OUT_PATH --size 100MB ...``: write a corpus (see cli.py)."""

import sys

from bpe_harness.data.corpus.cli import main

sys.exit(main())
