"""Where a run's outputs go."""

from pathlib import Path

from casekit.outputs import output_dirs


def test_default_output_folder_is_named_after_the_case(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)  # the kernel's working directory
    figures, tables = output_dirs(None, "../data/demo-synthetic")
    assert figures.resolve() == tmp_path / "build" / "demo-synthetic" / "figures"
    assert tables.is_dir() and figures.is_dir()
    given, _ = output_dirs(tmp_path / "elsewhere", "../data/demo-synthetic")
    assert given == tmp_path / "elsewhere" / "figures"
