"""Issue 21 item 4: when nbval fails on a stored notebook (e.g. after JupyterLab saved a run
into it), the failure says how to get it back."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def root_conftest():
    spec = importlib.util.spec_from_file_location("casekit_root_conftest", REPO / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


def notebook(path: Path, source: str, output: str) -> None:
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    cell.execution_count = 1
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture
def repo(tmp_path):
    notebook(tmp_path / "notebooks" / "a.ipynb", "print(1 + 1)", "2\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "stored")
    return tmp_path


def test_a_notebook_changed_since_the_commit_is_restored_with_git_checkout(repo):
    notebook(repo / "notebooks" / "a.ipynb", "print(1 + 1)", "")  # Lab saved an empty run
    advice = root_conftest().restore_advice(repo / "notebooks" / "a.ipynb", repo)
    assert advice.startswith("notebooks/a.ipynb differs from the committed copy")
    assert "JupyterLab" in advice
    assert "git checkout notebooks/a.ipynb" in advice and "make notebooks" in advice


def test_a_notebook_as_committed_needs_make_notebooks(repo):
    advice = root_conftest().restore_advice(repo / "notebooks" / "a.ipynb", repo)
    assert advice.startswith("notebooks/a.ipynb is as committed")
    assert "make notebooks" in advice and "git checkout" not in advice


def test_outside_git_both_ways_back_are_named(tmp_path):
    notebook(tmp_path / "notebooks" / "a.ipynb", "print(1)", "1\n")
    advice = root_conftest().restore_advice(tmp_path / "notebooks" / "a.ipynb", tmp_path)
    assert "git checkout notebooks/" in advice and "make notebooks" in advice


@pytest.mark.slow
def test_the_nbval_failure_message_says_it(repo):
    """The whole path: nbval fails on a changed notebook and the output says what to type
    (a kernel starts: a few seconds)."""
    shutil.copy(REPO / "conftest.py", repo / "conftest.py")
    notebook(repo / "notebooks" / "a.ipynb", "print(1 + 1)", "3\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--nbval", "--nbval-current-env", "notebooks"], cwd=repo,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    assert result.stdout.count("casekit: how to get the stored notebook back") == 2
    assert "git checkout notebooks/a.ipynb" in result.stdout
