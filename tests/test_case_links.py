"""Issue 20 item 3: case folders are read, not followed. A symbolic link inside a case folder
(``source.txt`` -> a file elsewhere), or a case folder that is one, is refused by
validation and loading with a ``file:1:1`` problem saying where it points, exit 2 from the
command line; ``--follow-symlinks`` (validate, run, series) allows it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casekit import cli
from casekit.case import CaseError, load_case, validate_case
from casekit.case.load import FOLLOW_ENV
from casekit.case.trials import case_trials
from conftest import DATA

SEED = DATA / "jlc2022"
WHY = ("a case folder is read, not followed: casekit never reads a file outside it; "
       "copy the file into the folder, or pass --follow-symlinks")


@pytest.fixture(autouse=True)
def _not_following(monkeypatch):
    monkeypatch.delenv(FOLLOW_ENV, raising=False)


@pytest.fixture
def linked_source(tmp_path) -> Path:
    """The seed case whose source.txt is a link to the paper's text kept outside it."""
    case = shutil.copytree(SEED, tmp_path / "case")
    outside = tmp_path / "elsewhere" / "paper.txt"
    outside.parent.mkdir()
    shutil.move(case / "source.txt", outside)
    (case / "source.txt").symlink_to(outside)
    return case


def test_validate_refuses_a_linked_file_naming_it_and_where_it_points(linked_source, capsys):
    code = cli.main(["validate", str(linked_source)])
    out, err = capsys.readouterr()
    assert code == 2
    outside = linked_source.parent / "elsewhere" / "paper.txt"
    assert out.splitlines() == [f"{linked_source}/source.txt:1:1: is a symbolic link (to "
                                f"{outside}); {WHY}"]
    assert "Traceback" not in err


def test_follow_symlinks_reads_it(linked_source, capsys):
    assert cli.main(["validate", "--follow-symlinks", str(linked_source)]) == 0
    assert capsys.readouterr().out == "valid\n"


def test_a_case_folder_that_is_a_link_is_refused(tmp_path, capsys):
    (tmp_path / "link").symlink_to(SEED, target_is_directory=True)
    assert cli.main(["validate", str(tmp_path / "link") + "/"]) == 2
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'link'}:1:1: is a symbolic link "
                                              f"(to {SEED}); a case folder is read, not "
                                              "followed")
    assert cli.main(["validate", "--follow-symlinks", str(tmp_path / "link")]) == 0


def test_a_linked_sub_folder_is_refused_and_not_entered(tmp_path):
    case = shutil.copytree(SEED, tmp_path / "case")
    (case / "figures").symlink_to("/", target_is_directory=True)
    problems = validate_case(case)
    assert [str(p) for p in problems] == [f"{case}/figures:1:1: is a symbolic link (to /); "
                                          + WHY]


def test_load_case_and_everything_built_on_it_refuse_too(linked_source, tmp_path, capsys):
    with pytest.raises(CaseError, match="source.txt:1:1: is a symbolic link"):
        load_case(linked_source)
    with pytest.raises(CaseError, match="is a symbolic link"):
        case_trials(linked_source)
    assert cli.main(["export-sdtm", "--case", str(linked_source), "--out",
                     str(tmp_path / "sdtm")]) == 2
    assert "source.txt:1:1: is a symbolic link" in capsys.readouterr().err


def test_run_refuses_before_anything_runs_unless_told(linked_source, tmp_path, monkeypatch):
    from casekit.run import runner

    result = runner.run_collection(linked_source, tmp_path / "out", echo=None,
                                   notebook_names=[])
    assert result.exit_code == 2
    assert [p.message.split(";")[0] for p in result.problems] == [
        f"is a symbolic link (to {linked_source.parent / 'elsewhere' / 'paper.txt'})"]
    monkeypatch.setenv(FOLLOW_ENV, "1")  # what --follow-symlinks sets for the kernels too
    assert runner.run_collection(linked_source, tmp_path / "out2", echo=None,
                                 notebook_names=[]).exit_code == 0


def test_the_command_line_flag_is_only_for_the_command(linked_source, capsys):
    import os

    assert cli.main(["validate", "--follow-symlinks", str(linked_source)]) == 0
    assert FOLLOW_ENV not in os.environ
    assert cli.main(["validate", str(linked_source)]) == 2


def test_a_series_leaves_a_linked_case_out_with_the_reason(tmp_path, monkeypatch):
    from casekit.series import run as series_run
    from casekit.series import synthetic
    from test_output_safety import _inline_cluster, _inline_gather

    monkeypatch.setattr(series_run, "cluster_client", _inline_cluster)
    monkeypatch.setattr(series_run, "_gather", _inline_gather)
    good = synthetic.write_case(tmp_path / "cases" / "A", "A", "A")
    linked = synthetic.write_case(tmp_path / "cases" / "B", "B", "B")
    shutil.move(linked / "labs.csv", tmp_path / "labs.csv")
    (linked / "labs.csv").symlink_to(tmp_path / "labs.csv")
    result = series_run.run_series(cases=[str(good), str(linked)], out_dir=tmp_path / "out",
                                   notebooks=False, echo=lambda line: None, tty=False)
    assert [a.subject for a in result.left_out] == ["B"]
    assert "labs.csv:1:1: is a symbolic link" in result.left_out[0].reason
