"""Where a run's outputs go."""

from pathlib import Path

from casekit.outputs import output_dirs


def test_interactive_output_folder_is_apart_from_runs_and_named_after_the_case(
        tmp_path, monkeypatch):
    # A notebook run without out_dir (JupyterLab, papermill alone) must not write into
    # build/<case>, the folder `make run` builds its report from.
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)  # the kernel's working directory
    figures, tables = output_dirs(None, "../data/demo-synthetic")
    assert figures.resolve() == tmp_path / "build" / "interactive" / "demo-synthetic" / "figures"
    assert tables.is_dir() and figures.is_dir()
    given, _ = output_dirs(tmp_path / "elsewhere", "../data/demo-synthetic")
    assert given == tmp_path / "elsewhere" / "figures"
