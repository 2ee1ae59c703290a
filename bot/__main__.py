"""`python -m bot` does what the `cse-triage` command does."""

import sys

from bot.cli import main

sys.exit(main())
