"""Command line: ``python -m casekit validate|run|new-case|refresh-notebooks``.

Exit codes: 0 success, 1 a notebook failed, 2 bad input (with ``file:line:column`` messages
and no traceback).
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _validate(args: argparse.Namespace) -> int:
    from casekit.case import validate_case

    problems = validate_case(args.case)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in {args.case}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("valid")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m casekit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check a case folder against the format")
    validate.add_argument("case", help="the case folder")
    validate.set_defaults(func=_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return EXIT_BAD_INPUT if exc.code else EXIT_OK
    return args.func(args)
