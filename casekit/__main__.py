"""`python -m casekit ...`: see :mod:`casekit.run.cli`."""

from casekit.run.cli import main

raise SystemExit(main(prog="python -m casekit"))
