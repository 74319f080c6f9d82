"""Command line: ``casekit validate|run|new-case|refresh-notebooks|cite|care|series|
import-sdtm|export-sdtm|concordance`` (the console script) or ``python -m casekit ...``; the same parser
serves both, named after the way it was started.

Exit codes: 0 success, 1 a notebook failed, 2 bad input (with ``file:line:column`` messages
and no traceback).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# Shown by --help: plain text (the module docstring above is reStructuredText for readers
# of the source, and argparse would print its markup as is).
DESCRIPTION = ("Turn a published case report's case folder into recomputed notebooks, "
               "figures, tables and a report. Exit codes: 0 success, 1 a notebook failed, "
               "2 bad input.")


def _validate(args: argparse.Namespace) -> int:
    from casekit.case.load import check_case

    findings = check_case(args.case, progress=lambda line: print(line, file=sys.stderr,
                                                                  flush=True))
    for problem in findings.errors + findings.warnings:
        print(problem)
    if findings.errors:
        print(f"{len(findings.errors)} problem(s) in {args.case}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"valid, with {len(findings.warnings)} warning(s)" if findings.warnings else "valid")
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


def _checked_notebooks(runner, args: argparse.Namespace) -> list[str] | None:
    """--notebook names must name notebooks of the folder: checked before anything runs."""
    from pathlib import Path

    from casekit.run.parameters import check_notebook_names

    folder = Path(args.notebooks_dir) if args.notebooks_dir else runner.DEFAULT_NOTEBOOKS_DIR
    if not folder.is_dir():
        return args.notebook or None  # the runner says the folder is missing
    return check_notebook_names(args.notebook or None, [p.name for p in folder.glob("*.ipynb")])


def _run(args: argparse.Namespace) -> int:
    return _executing(lambda runner: runner.run_collection(
        args.case, args.out,
        parameters=runner.parse_parameters(args.parameter, notebooks_dir=args.notebooks_dir),
        jobs=_checked_jobs(runner, args.jobs), notebooks_dir=args.notebooks_dir,
        figures_dir=args.figures, notebook_names=_checked_notebooks(runner, args),
        force=args.force))


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
    from casekit.case.scaffold import next_step

    print(f"new case in {args.folder}: replace the EXAMPLE rows (see {args.folder}/README.md), "
          f"then run: {next_step(args.folder)}")
    return EXIT_OK


def _refresh(args: argparse.Namespace) -> int:
    return _executing(lambda runner: runner.refresh_notebooks(
        notebooks_dir=args.notebooks_dir, jobs=_checked_jobs(runner, args.jobs),
        notebook_names=_checked_notebooks(runner, args)))


def _execution_options(command: argparse.ArgumentParser, verb: str) -> None:
    """Options shared by the commands that execute notebooks."""
    command.add_argument("--jobs", type=int, metavar="N",
                         help="notebooks executed at once (default: the number of CPUs)")
    command.add_argument("--notebooks-dir", metavar="DIR",
                         help="where the notebooks are (default: the repository's notebooks/)")
    command.add_argument("--notebook", action="append", metavar="NAME",
                         help=f"{verb} only this notebook (repeatable; default: the whole "
                         "collection)")


def _follow_symlinks_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--follow-symlinks", action="store_true",
                         help="read case folders that are, or hold, symbolic links (by "
                         "default such a case is refused, exit 2: casekit reads nothing "
                         "outside a case folder)")


@contextmanager
def _following_symlinks(follow: bool) -> Iterator[None]:
    """--follow-symlinks, for this command and the processes it starts (kernels, Dask
    workers), through casekit.case.load.FOLLOW_ENV; put back as it was afterwards."""
    if not follow:
        yield
        return
    from casekit.case.load import FOLLOW_ENV

    before = os.environ.get(FOLLOW_ENV)
    os.environ[FOLLOW_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(FOLLOW_ENV, None)
        else:
            os.environ[FOLLOW_ENV] = before


def _bad_input_as_exit_2(call: Callable[[], object], bad_input: tuple[type[Exception], ...],
                         where: str, invalid_case: str | None = None) -> int:
    """Run ``call``; what means bad input becomes ``error: ...`` on stderr and exit 2, never a
    traceback: the ``bad_input`` exceptions by their message, an invalid case by its
    ``file:line:column`` problems (and ``invalid_case`` named), a failed file operation by
    the file (``where`` when the error names none)."""
    from casekit.case import CaseError

    try:
        call()
    except bad_input as exc:
        print(f"error: {exc}", file=sys.stderr)
    except CaseError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        if invalid_case:
            print(f"error: {invalid_case} is not a valid case", file=sys.stderr)
    except OSError as exc:
        print(f"error: {exc.filename or where}: {exc.strerror or exc}", file=sys.stderr)
    else:
        return EXIT_OK
    return EXIT_BAD_INPUT


def _cite(args: argparse.Namespace) -> int:
    from casekit.run.cite import CiteError, cite

    return _bad_input_as_exit_2(lambda: print(cite(args.case, args.format), end=""),
                                (CiteError,), args.case)


def _add_cite_command(sub) -> None:
    from casekit.run.runner import DEFAULT_CASE_DIR

    cite = sub.add_parser("cite", help="print how to cite casekit and a case's source article",
                          description="Print the citation of the software (from "
                          "CITATION.cff) and of the article the case comes from (from the "
                          "case's facts: title, citation, doi, licence); a case that lacks "
                          "some of these facts says which.")
    cite.add_argument("--case", default=str(DEFAULT_CASE_DIR), metavar="DIR",
                      help="the case folder (default: the seed case, data/jlc2022)")
    cite.add_argument("--format", choices=("text", "bibtex"), default="text",
                      help="plain text (default) or BibTeX entries")
    cite.set_defaults(func=_cite)


def care_text(table, case_dir: str) -> str:
    """The CARE table as plain text: a summary line, then per item its verdict, evidence and
    what would complete it."""
    from casekit.rules.care import care_summary

    lines = [f"CARE checklist for {case_dir} (Gagnier et al. 2013; Riley et al., "
             f"J Clin Epidemiol 2017;89:218-235): {care_summary(table)}"]
    for row in table.itertuples(index=False):
        lines.append(f"{row.care_item:2d}. {row.topic}: {row.verdict}")
        if row.evidence:
            lines.append(f"    evidence: {row.evidence}")
        if row.to_complete:
            lines.append(f"    to complete: {row.to_complete}")
    return "\n".join(lines) + "\n"


def _care(args: argparse.Namespace) -> int:
    from casekit.case import load_case
    from casekit.outputs import table_bytes
    from casekit.owned import OutFolderRefused, write_output_file
    from casekit.rules.care import care_table

    def score() -> None:
        table = care_table(load_case(args.case))
        if args.out is None:
            print(care_text(table, args.case), end="")
            return
        write_output_file(args.out, table_bytes(table), [(args.case, "the case folder")])
        print(args.out)

    return _bad_input_as_exit_2(score, (OutFolderRefused,), args.out or args.case,
                                invalid_case=args.case)


def _add_care_command(sub) -> None:
    care = sub.add_parser(
        "care", help="score a case folder against the 13 items of the CARE checklist",
        description="Score a case folder against the CARE guidelines for case reports "
        "(Gagnier et al. 2013; Riley et al., J Clin Epidemiol 2017;89:218-235): each of the "
        "13 items (title, key words, abstract, introduction, patient information, clinical "
        "findings, timeline, diagnostic assessment, therapeutic intervention, follow-up and "
        "outcomes, discussion, patient perspective, informed consent) is present, partial "
        "or missing, with its evidence as file:line and what would complete it. The "
        "mapping is in data/README.md. Exit 2 for an invalid case or an --out that cannot "
        "be written.")
    care.add_argument("--case", required=True, metavar="DIR", help="the case folder")
    care.add_argument("--out", metavar="FILE.csv",
                      help="write the table as CSV (13 rows) instead of printing it; an "
                      "existing file is never overwritten")
    care.set_defaults(func=_care)


def _add_series_command(sub) -> None:
    """``series``: many case folders as one cohort, fanned out on Dask (casekit.series)."""
    series = sub.add_parser(
        "series", help="analyse many case folders as one cohort (tables, figures, "
        "series.html), fanned out on Dask",
        description="Validate and analyse every case (invalid ones are listed and left "
        "out), on a local Dask cluster or on --scheduler's, then write OUT/tables, run the "
        "series notebooks and write OUT/series.html. Without --cases/--series the default "
        "series is imported from the vendored SDTM data. Exit 0 when everything went "
        "through, 1 when a case was left out or something failed, 2 for bad input.")
    which = series.add_mutually_exclusive_group()
    which.add_argument("--cases", nargs="+", metavar="DIR", help="case folders")
    which.add_argument("--series", metavar="DIR",
                       help="a folder whose sub-folders are the cases")
    which.add_argument("--sdtm", metavar="DIR",
                       help="import the series from this SDTM folder (default: the vendored "
                       "pharmaversesdtm data)")
    series.add_argument("--out", required=True, metavar="DIR", help="the output folder")
    series.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="a series parameter (count_suspected, confirm_days, "
                        "min_sd_days, primary_criteria); repeatable")
    series.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on this Dask scheduler (tcp://HOST:PORT) instead of a "
                        "local cluster; workers must see the same paths")
    series.add_argument("--jobs", type=int, metavar="N",
                        help="local cluster size (default: the number of CPUs)")
    series.add_argument("--per-case-reports", action="store_true",
                        help="also run 'casekit run' for every valid case, into OUT/cases/")
    _follow_symlinks_option(series)

    def run(args: argparse.Namespace) -> int:
        from casekit.series.run import main as series_main

        return series_main(args)

    series.set_defaults(func=run)


def _import_sdtm(args: argparse.Namespace) -> int:
    from casekit.interop.sdtm import SdtmInputError, import_sdtm
    from casekit.owned import OutFolderRefused

    return _bad_input_as_exit_2(
        lambda: import_sdtm(args.sdtm_dir, args.out, evaluator=args.evaluator,
                            subjects=args.subjects),
        (SdtmInputError, OutFolderRefused), args.out)


def _export_sdtm(args: argparse.Namespace) -> int:
    from casekit.interop.sdtm import export_sdtm
    from casekit.interop.sdtm_write import SdtmWriteError
    from casekit.owned import OutFolderRefused

    def export() -> None:
        for path in export_sdtm(args.case, args.out, fmt=args.format):
            print(path)

    return _bad_input_as_exit_2(export, (OutFolderRefused, SdtmWriteError), args.out,
                                invalid_case=args.case)


def _concordance(args: argparse.Namespace) -> int:
    from casekit.interop.concordance import concordance_command
    from casekit.interop.sdtm import SdtmInputError

    # a CaseError is a ValueError: an invalid case is reported by its message here
    return _bad_input_as_exit_2(
        lambda: concordance_command(args.cases, args.out, sdtm_dir=args.sdtm,
                                    evaluators=args.evaluator, subjects=args.subjects),
        (SdtmInputError, ValueError), args.out)


def _export_adam(args: argparse.Namespace) -> int:
    from casekit.interop.adam import export_adam
    from casekit.interop.sdtm import SdtmInputError
    from casekit.owned import OutFolderRefused

    sources = [bool(args.case), bool(args.series), bool(args.sdtm)]
    if sum(sources) != 1:
        print("error: give exactly one of --case, --series or --sdtm", file=sys.stderr)
        return EXIT_BAD_INPUT
    missing = [d for d in (args.case or []) + [args.series, args.sdtm]
               if d and not Path(d).is_dir()]
    if missing:
        print(f"error: {missing[0]}: does not exist or is not a folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    # a CaseError is a ValueError: an invalid case is reported by its message here
    return _bad_input_as_exit_2(
        lambda: export_adam(args.out, case_dirs=args.case or [], series_dir=args.series,
                            sdtm_dir=args.sdtm, conventions=args.conventions),
        (SdtmInputError, OutFolderRefused, ValueError), args.out)


def _add_sdtm_commands(sub) -> None:
    """import-sdtm, export-sdtm and concordance (casekit.interop)."""
    imp = sub.add_parser("import-sdtm", help="write one case folder per subject of SDTM data",
                         description="Read DM, TU, TR (required) and RS, LB, EX, SUPPTU "
                         "(optional) from SDTM_DIR, as CSV[.gz], SAS XPORT (.xpt) or "
                         "Dataset-JSON (.json, .ndjson) files, each recognised by its dataset "
                         "name or DOMAIN whatever it is called, and write one case folder per "
                         "subject under --out, plus import_log.csv of every irregularity and "
                         "its fate; prints a summary. Exit 2 when a domain or variable is "
                         "missing, a file unreadable or one dataset given twice.")
    imp.add_argument("sdtm_dir", metavar="SDTM_DIR")
    imp.add_argument("--out", required=True, metavar="CASES_DIR")
    imp.add_argument("--evaluator", default="INVESTIGATOR",
                     help="whose records: --EVALID or --EVAL, e.g. INVESTIGATOR (default), "
                     "'RADIOLOGIST 1'")
    imp.add_argument("--subjects", nargs="+", metavar="ID", help="only these USUBJIDs")
    imp.set_defaults(func=_import_sdtm)

    exp = sub.add_parser("export-sdtm", help="write a case folder as SDTM datasets",
                         description="Write DM, TU, SUPPTU, TR, RS (recorded and computed "
                         "calls), LB and EX for a case folder as CSV, SAS XPORT v5 or "
                         "Dataset-JSON 1.1, with define.xml (Define-XML 2.1) and define.html; "
                         "a CSV export also gets define.csv and CDISC CORE's _datasets.csv "
                         "and _variables.csv.")
    exp.add_argument("--case", required=True, metavar="DIR")
    exp.add_argument("--out", required=True, metavar="DIR")
    exp.add_argument("--format", choices=("csv", "xpt", "json"), default="csv",
                     help="csv (default), xpt (SAS XPORT version 5) or json (Dataset-JSON 1.1)")
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

    adam = sub.add_parser("export-adam", help="write ADaM ADRS, ADTTE and ADTR",
                          description="Derive each case once and write adrs.csv (OVR per "
                          "visit; BOR, CBOR, RSP, CB, PD, DEATH, LSTA), adtte.csv (PFS, OS, "
                          "RSD), adtr.csv (target sums) and variables.csv into --out. "
                          "--conventions admiralonco reproduces admiralonco's templates "
                          "(OVR as recorded, partial dates to the last day, censoring at the "
                          "last assessment); casekit (default) recomputes the calls. Exit 2 "
                          "on bad input.")
    adam.add_argument("--case", action="append", metavar="DIR", help="a case folder (repeatable)")
    adam.add_argument("--series", metavar="DIR", help="a folder of case folders")
    adam.add_argument("--sdtm", metavar="DIR", help="SDTM data, imported first")
    adam.add_argument("--conventions", choices=("casekit", "admiralonco"), default="casekit")
    adam.add_argument("--out", required=True, metavar="DIR")
    adam.set_defaults(func=_export_adam)


def _parser(prog: str = "casekit") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser(
        "validate", help="check a case folder against the format",
        description="Check a case folder against the case-folder format (data/README.md): "
        "columns, vocabularies, units, event references, sanity limits and, when the folder "
        "holds source.txt, every reported snippet. Prints every problem as "
        "file:line:column: message, and warnings (valid, but something could not be "
        "checked). Reads only; never writes. Exit 0 when valid, 2 when not.")
    validate.add_argument("case", help="the case folder")
    _follow_symlinks_option(validate)
    validate.set_defaults(func=_validate)

    run = sub.add_parser("run", help="execute the notebook collection for a case and write "
                         "the report", description="Validate the case, execute every "
                         "notebook of casekit/notebooks.txt in parallel, write OUT/notebooks, "
                         "OUT/figures, OUT/tables and OUT/report.html, reusing notebooks whose "
                         "inputs did not change. OUT must be new, empty or a casekit output "
                         "folder (see README, Reproducibility). Exit 0 when every "
                         "notebook ran, 1 when one failed, 2 for bad input.")
    run.add_argument("--case", required=True, metavar="DIR", help="the case folder")
    run.add_argument("--out", required=True, metavar="DIR", help="the output folder")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"),
                     help="pass a parameter to every notebook, checked against its declared "
                     "type and range (README, 'Notebook parameters'): booleans true/false "
                     "or 1/0, lists AFP,CEA or JSON; repeatable")
    run.add_argument("--figures", metavar="DIR",
                     help="after a successful run, copy OUT/figures/* into DIR")
    run.add_argument("--force", action="store_true",
                     help="execute every notebook, even those whose inputs (notebook, case "
                     "files, parameters, casekit source, pinned requirements) are unchanged "
                     "since the last run into OUT and would be reused")
    _execution_options(run, "run")
    _follow_symlinks_option(run)
    run.set_defaults(func=_run)

    new = sub.add_parser("new-case", help="write a case folder to fill in",
                         description="Write every case file with its header and one EXAMPLE "
                         "row, plus a README.md; refuses a folder that exists and is not "
                         "empty.")
    new.add_argument("folder", help="the new case folder")
    new.set_defaults(func=_new_case)

    refresh = sub.add_parser(
        "refresh-notebooks", help="re-execute the stored notebooks in place for the default "
        "case (before committing)",
        description="Re-execute the notebooks stored in notebooks/ (or --notebooks-dir) in "
        "place for the default case, data/jlc2022, and strip their run metadata, so that "
        "the tests (nbval) compare against current outputs: after changing code or data, "
        "or to restore notebooks changed by running them in JupyterLab. 'make notebooks' "
        "does this for both collections. Exit 0 when every notebook ran, 1 when one "
        "failed, 2 for bad input.")
    _execution_options(refresh, "refresh")
    refresh.set_defaults(func=_refresh)
    _add_cite_command(sub)
    _add_care_command(sub)
    _add_series_command(sub)
    _add_sdtm_commands(sub)
    return parser


def main(argv: list[str] | None = None, *, prog: str = "casekit") -> int:
    """Run one command; ``prog`` names the program in usage and help messages."""
    parser = _parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage message
        return EXIT_BAD_INPUT if exc.code else EXIT_OK
    try:
        with _following_symlinks(getattr(args, "follow_symlinks", False)):
            return args.func(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (runner.Terminated)
        terminated = type(exc).__name__ == "Terminated"
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return 143 if terminated else 130
