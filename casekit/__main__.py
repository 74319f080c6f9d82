"""`python -m casekit ...`: see :mod:`casekit.cli`."""

from casekit.cli import main

raise SystemExit(main(prog="python -m casekit"))
