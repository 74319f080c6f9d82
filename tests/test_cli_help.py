"""`casekit` works as a command in the venv, and every --help prints clean text.

Clean means no reStructuredText markup (``literal``, :mod:`x` roles, `link`_ targets):
argparse prints docstrings and help strings as they are, so markup meant for Sphinx readers
of the source would reach the terminal raw.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from casekit import cli

REPO = Path(__file__).resolve().parents[1]
# The console script pip wrote for [project.scripts] next to this venv's python.
CONSOLE_SCRIPT = Path(sys.executable).parent / "casekit"
RST_MARKUP = re.compile(r"``|:[a-z]+:`|`_\b|`")


def subcommands() -> list[str]:
    """Every subcommand the parser has, so new ones are checked without editing this file."""
    parser = cli._parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def help_text(capsys, argv: list[str], prog: str = "casekit") -> str:
    assert cli.main([*argv, "--help"], prog=prog) == cli.EXIT_OK
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def test_the_console_script_runs_in_the_venv():
    assert CONSOLE_SCRIPT.exists(), f"{CONSOLE_SCRIPT}: pip did not install the entry point"
    result = subprocess.run([str(CONSOLE_SCRIPT), "--help"], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: casekit "), result.stdout[:80]
    assert not RST_MARKUP.search(result.stdout)


def test_python_dash_m_casekit_still_works_and_names_itself_so():
    result = subprocess.run([sys.executable, "-m", "casekit", "validate", "--help"],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m casekit validate "), result.stdout[:80]


def test_the_subcommands_are_all_there():
    assert {"validate", "run", "new-case", "refresh-notebooks", "cite"} <= set(subcommands())


def test_top_level_help_is_clean_text(capsys):
    out = help_text(capsys, [])
    assert out.startswith("usage: casekit ")
    assert not RST_MARKUP.search(out), RST_MARKUP.search(out)
    for name in subcommands():
        assert name in out


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_help_is_clean_text(capsys, name):
    out = help_text(capsys, [name])
    assert out.startswith(f"usage: casekit {name}")
    found = RST_MARKUP.search(out)
    assert not found, f"casekit {name} --help prints markup {found.group()!r}:\n{out}"


def test_a_usage_error_names_the_program_as_started(capsys):
    assert cli.main(["nope"], prog="python -m casekit") == cli.EXIT_BAD_INPUT
    assert capsys.readouterr().err.startswith("usage: python -m casekit ")


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_has_a_description(capsys, name):
    """Issue 21: `validate --help` and `refresh-notebooks --help` printed only the usage and
    the options; every subcommand says what it does in a paragraph of its own."""
    out = help_text(capsys, [name])
    usage, _, rest = out.partition("\n\n")
    first = rest.split("\n\n", 1)[0]
    assert not first.startswith(("positional arguments:", "options:")), out
    assert len(first.split()) >= 8, first
