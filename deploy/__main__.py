"""Entry point of ``python -m deploy``; see ``deploy.cli`` for usage and exit codes."""

import sys

from deploy.cli import main

sys.exit(main())
