"""pytest hooks for the whole repository: when nbval fails on a stored notebook, say how to
get back.

The notebooks in ``notebooks/`` are stored executed for the seed case and nbval compares
their outputs strictly. Running one in JupyterLab saves that run into the file (autosave
too), so a test then fails on a notebook the user never meant to change. Every failing
notebook cell gets a section saying whether the file differs from git's copy and what to
type: ``git checkout notebooks/NAME.ipynb`` to restore it, or ``make notebooks`` to
re-execute the collection after changing code or data on purpose. The end of the run
lists the notebooks once more with the same advice.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
SECTION = "casekit: how to get the stored notebook back"


def _git_state(notebook: Path, root: Path) -> str:
    """``changed`` / ``committed`` (as in git's HEAD) / ``unknown`` (no git, not tracked)."""
    rel = notebook.resolve().relative_to(root.resolve()).as_posix()
    try:
        tracked = subprocess.run(["git", "ls-files", "--error-unmatch", "--", rel], cwd=root,
                                 capture_output=True, timeout=30)
        if tracked.returncode != 0:
            return "unknown"
        diff = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", rel], cwd=root,
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return {0: "committed", 1: "changed"}.get(diff.returncode, "unknown")


def restore_advice(notebook: Path, root: Path = ROOT) -> str:
    """What to do about a stored notebook that nbval found different, in plain words."""
    rel = notebook.resolve().relative_to(root.resolve()).as_posix()
    state = _git_state(notebook, root)
    lab = ("Running a stored notebook in JupyterLab (make lab) saves that run into the file, "
           "autosave included.")
    if state == "changed":
        return (f"{rel} differs from the committed copy (git diff {rel} shows how). {lab} "
                f"Restore it with: git checkout {rel} (all of them: git checkout notebooks/). "
                "If you changed code or data on purpose, re-execute the stored notebooks "
                "instead: make notebooks.")
    if state == "committed":
        return (f"{rel} is as committed, so code or data changed what it prints: re-execute "
                "the stored notebooks with make notebooks, review the diff, and commit "
                "them with the change.")
    return (f"{rel}: {lab} Restore the stored notebooks with git checkout notebooks/ (in a "
            "git clone), or re-execute them for the seed case with make notebooks.")


def _notebook_of(report) -> Path | None:
    path = report.nodeid.split("::", 1)[0]
    return ROOT / path if path.endswith(".ipynb") else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    notebook = _notebook_of(report)
    if report.failed and notebook is not None and notebook.is_file():
        report.sections.append((SECTION, restore_advice(notebook)))


def pytest_terminal_summary(terminalreporter):
    notebooks = sorted({nb for r in terminalreporter.stats.get("failed", [])
                        if (nb := _notebook_of(r)) is not None and nb.is_file()})
    if not notebooks:
        return
    terminalreporter.section(SECTION)
    for notebook in notebooks:
        terminalreporter.write_line(restore_advice(notebook))
