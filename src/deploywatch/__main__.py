"""``python -m deploywatch``."""

from deploywatch.cli import main

raise SystemExit(main())
