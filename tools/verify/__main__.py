"""``python -m tools.verify``: the same as ``spotcheck-verify``."""

from tools.verify.cli import main

raise SystemExit(main())
