"""Command line: ``python -m casekit validate|run|new-case|refresh-notebooks|import-sdtm|export-sdtm|concordance``.

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


def _executing(call) -> int:
    """Run a notebook-executing command; bad input becomes a one-line error and exit 2."""
    from casekit.run import runner

    runner.skip_unused_imports()
    try:
        return call(runner).exit_code
    except runner.RunInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except OSError as exc:  # e.g. an output folder that cannot be created
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _checked_jobs(runner, jobs: int | None) -> int | None:
    if jobs is not None and jobs < 1:
        raise runner.RunInputError(f"--jobs must be at least 1, not {jobs}")
    return jobs


def _run(args: argparse.Namespace) -> int:
    return _executing(lambda runner: runner.run_collection(
        args.case, args.out, parameters=runner.parse_parameters(args.parameter),
        jobs=_checked_jobs(runner, args.jobs), notebooks_dir=args.notebooks_dir,
        figures_dir=args.figures, notebook_names=args.notebook or None))


def _new_case(args: argparse.Namespace) -> int:
    from casekit.case.scaffold import ScaffoldError, new_case

    try:
        written = new_case(args.folder)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {args.folder}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in written:
        print(path)
    print(f"new case in {args.folder}: replace the EXAMPLE rows (see {args.folder}/README.md), "
          f"then run: python -m casekit validate {args.folder}")
    return EXIT_OK


def _refresh(args: argparse.Namespace) -> int:
    return _executing(lambda runner: runner.refresh_notebooks(
        notebooks_dir=args.notebooks_dir, jobs=_checked_jobs(runner, args.jobs),
        notebook_names=args.notebook or None))


def _execution_options(command: argparse.ArgumentParser, verb: str) -> None:
    """Options shared by the commands that execute notebooks."""
    command.add_argument("--jobs", type=int, metavar="N",
                         help="notebooks executed at once (default: the number of CPUs)")
    command.add_argument("--notebooks-dir", metavar="DIR",
                         help="where the notebooks are (default: the repository's notebooks/)")
    command.add_argument("--notebook", action="append", metavar="NAME",
                         help=f"{verb} only this notebook (repeatable; default: the whole "
                         "collection)")


def _import_sdtm(args: argparse.Namespace) -> int:
    from casekit.interop.sdtm import SdtmInputError, import_sdtm

    try:
        import_sdtm(args.sdtm_dir, args.out, evaluator=args.evaluator, subjects=args.subjects)
    except SdtmInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _export_sdtm(args: argparse.Namespace) -> int:
    from casekit.case import CaseError
    from casekit.interop.sdtm import export_sdtm

    try:
        written = export_sdtm(args.case, args.out)
    except CaseError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"error: {args.case} is not a valid case", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for path in written:
        print(path)
    return EXIT_OK


def _concordance(args: argparse.Namespace) -> int:
    from casekit.case import CaseError
    from casekit.interop.concordance import concordance_command
    from casekit.interop.sdtm import SdtmInputError

    try:
        concordance_command(args.cases, args.out, sdtm_dir=args.sdtm, evaluators=args.evaluator,
                            subjects=args.subjects)
    except (SdtmInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CaseError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _add_sdtm_commands(sub) -> None:
    """import-sdtm, export-sdtm and concordance (casekit.interop)."""
    imp = sub.add_parser("import-sdtm", help="write one case folder per subject of SDTM data",
                         description="Read DM, TU, TR (required) and RS, LB, EX (optional) "
                         "CSV[.gz] files from SDTM_DIR and write one case folder per subject "
                         "under --out, plus import_log.csv of every irregularity; prints a "
                         "summary. Exit 2 when a domain or variable is missing or unreadable.")
    imp.add_argument("sdtm_dir", metavar="SDTM_DIR")
    imp.add_argument("--out", required=True, metavar="CASES_DIR")
    imp.add_argument("--evaluator", default="INVESTIGATOR",
                     help="whose records: --EVALID or --EVAL, e.g. INVESTIGATOR (default), "
                     "'RADIOLOGIST 1'")
    imp.add_argument("--subjects", nargs="+", metavar="ID", help="only these USUBJIDs")
    imp.set_defaults(func=_import_sdtm)

    exp = sub.add_parser("export-sdtm", help="write a case folder as SDTM CSV files",
                         description="Write DM, TU, SUPPTU, TR, RS (recorded and computed "
                         "calls), LB, EX and define.csv for a case folder.")
    exp.add_argument("--case", required=True, metavar="DIR")
    exp.add_argument("--out", required=True, metavar="DIR")
    exp.set_defaults(func=_export_sdtm)

    con = sub.add_parser("concordance", help="recomputed RECIST 1.1 vs recorded responses",
                         description="Per visit, per evaluator: recorded RS call beside the "
                         "recomputed one, with the named rule behind every disagreement; "
                         "writes concordance_visits.csv, concordance_summary.csv, "
                         "concordance_confusion.csv and concordance_rules.csv in --out.")
    con.add_argument("cases", nargs="*", metavar="CASE_DIR", help="imported case folders")
    con.add_argument("--sdtm", metavar="SDTM_DIR",
                     help="import these SDTM data first (into OUT/cases/<evaluator>/)")
    con.add_argument("--evaluator", action="append",
                     help="with --sdtm: evaluators to import (repeatable; default: "
                     "INVESTIGATOR, 'RADIOLOGIST 1', 'RADIOLOGIST 2')")
    con.add_argument("--subjects", nargs="+", metavar="ID", help="with --sdtm: only these")
    con.add_argument("--out", required=True, metavar="DIR")
    con.set_defaults(func=_concordance)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m casekit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check a case folder against the format")
    validate.add_argument("case", help="the case folder")
    validate.set_defaults(func=_validate)

    run = sub.add_parser("run", help="execute the notebook collection for a case and write "
                         "the report", description="Validate the case, execute every "
                         "notebook of casekit/notebooks.txt in parallel, write OUT/notebooks, "
                         "OUT/figures, OUT/tables and OUT/report.html. Exit 0 when every "
                         "notebook ran, 1 when one failed, 2 for bad input.")
    run.add_argument("--case", required=True, metavar="DIR", help="the case folder")
    run.add_argument("--out", required=True, metavar="DIR", help="the output folder")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"),
                     help="pass a parameter to every notebook (typed as papermill -p does: "
                     "int, float, True/False/None, else text); repeatable")
    run.add_argument("--figures", metavar="DIR",
                     help="after a successful run, copy OUT/figures/* into DIR")
    _execution_options(run, "run")
    run.set_defaults(func=_run)

    new = sub.add_parser("new-case", help="write a case folder to fill in",
                         description="Write every case file with its header and one EXAMPLE "
                         "row, plus a README.md; refuses a folder that exists and is not "
                         "empty.")
    new.add_argument("folder", help="the new case folder")
    new.set_defaults(func=_new_case)

    refresh = sub.add_parser("refresh-notebooks",
                             help="re-execute the stored notebooks in place for the default "
                             "case (before committing)")
    _execution_options(refresh, "refresh")
    refresh.set_defaults(func=_refresh)
    _add_sdtm_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return EXIT_BAD_INPUT if exc.code else EXIT_OK
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
