"""Issue 9 for every command with --out (import-sdtm, export-sdtm, concordance, series):
the same output-folder rules as ``casekit run`` (casekit.owned). A refused --out exits 2
with one ``error:`` line and writes nothing; a re-run into the command's own folder
replaces or removes only the files it recorded, unchanged, and refuses when one of them was
edited; a file of the user's is never overwritten nor deleted.

The series runs use an in-process stand-in for the Dask cluster (the cluster itself is
tested in test_series_cluster.py, slow): the folder rules do not depend on it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from casekit.interop.sdtm import safe_name
from casekit import cli
from casekit.series import run as series_run
from casekit.series import synthetic
from conftest import DATA, REPO, changed_entries, snapshot

SEED = DATA / "jlc2022"
SDTM = DATA / "external" / "pharmaversesdtm"
ONE, TWO = "01-701-1015", "01-701-1023"  # two subjects of the vendored SDTM data


def _refused(capsys, argv: list[str], *expected: str) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    return err


def changed_but_locks(before, after) -> list[str]:
    """Changed entries, lock files aside (a refused command may still have taken the lock:
    refusals found only under it, such as a file edited since)."""
    return [e for e in changed_entries(before, after) if not e.endswith(".casekit/lock")]


def _owned(out: Path) -> dict[str, str]:
    return json.loads((out / ".casekit" / "owned.json").read_text(encoding="utf-8"))["files"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def mine(tmp_path) -> Path:
    """A folder of the user's own files, one of them named as an export's (dm.csv)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "dm.csv").write_text("mine\n", encoding="utf-8")
    return folder


def _unsafe(tmp_path: Path, where: str, inside: Path, mine: Path) -> str:
    return {"empty": "", "blank": " ", "repo": str(REPO), "data": str(REPO / "data"),
            "data-external": str(REPO / "data" / "external" / "new"),
            "notebooks": str(REPO / "notebooks"), "inside-input": str(inside / "out"),
            "holds-input": str(inside.parent), "a-file": str(mine / "dm.csv"),
            "user-folder": str(mine)}[where]


MESSAGES = {"empty": "--out is empty", "blank": "--out is empty",
            "a-file": "is not a folder", "user-folder": "not empty and not a"}
WHERE = ["empty", "blank", "repo", "data", "data-external", "notebooks", "inside-input",
         "holds-input", "a-file", "user-folder"]


# ------------------------------------------------------------------ export-sdtm


@pytest.mark.parametrize("where", WHERE)
def test_export_sdtm_refuses_unsafe_out(tmp_path, capsys, monkeypatch, mine, where):
    case = shutil.copytree(SEED, tmp_path / "cases" / "case")
    monkeypatch.chdir(mine)  # where --out "" would land
    before, repo_top = snapshot(tmp_path), sorted(p.name for p in REPO.iterdir())
    _refused(capsys, ["export-sdtm", "--case", str(case), "--out",
                      _unsafe(tmp_path, where, case, mine)],
             MESSAGES.get(where, "give it a folder of its own"))
    assert changed_but_locks(before, snapshot(tmp_path)) == []
    assert (mine / "dm.csv").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in REPO.iterdir()) == repo_top
    assert not (REPO / "data" / "external" / "new").exists()


def test_export_sdtm_rerun_replaces_only_its_own_files(tmp_path, capsys):
    out = tmp_path / "sdtm"
    assert cli.main(["export-sdtm", "--case", str(SEED), "--out", str(out)]) == 0
    owned = _owned(out)
    assert "dm.csv" in owned and owned["dm.csv"] == _sha(out / "dm.csv")
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    first = {rel: (out / rel).read_bytes() for rel in owned}
    (out / "ex.csv").unlink(missing_ok=True)  # a recorded file the user removed: fine
    assert cli.main(["export-sdtm", "--case", str(SEED), "--out", str(out)]) == 0, \
        capsys.readouterr().err
    assert {rel: (out / rel).read_bytes() for rel in _owned(out)} == first
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my notes\n"


def test_export_sdtm_never_touches_an_edited_or_replaced_file(tmp_path, capsys):
    out = tmp_path / "sdtm"
    assert cli.main(["export-sdtm", "--case", str(SEED), "--out", str(out)]) == 0
    capsys.readouterr()
    (out / "dm.csv").write_text("edited by the user\n", encoding="utf-8")
    before = snapshot(tmp_path)
    _refused(capsys, ["export-sdtm", "--case", str(SEED), "--out", str(out)],
             f"{out / 'dm.csv'} was changed after 'casekit export-sdtm' wrote it")
    assert changed_but_locks(before, snapshot(tmp_path)) == []
    # the user deletes a recorded file and puts one of their own in its place
    (out / "dm.csv").unlink()
    assert cli.main(["export-sdtm", "--case", str(SEED), "--out", str(out)]) == 0
    (out / "tu.csv").unlink()
    (out / ".casekit" / "owned.json").write_text(json.dumps(
        {"format": 1, "command": "export-sdtm",
         "files": {k: v for k, v in _owned(out).items() if k != "tu.csv"}}), encoding="utf-8")
    (out / "tu.csv").write_text("mine\n", encoding="utf-8")
    capsys.readouterr()
    before = snapshot(tmp_path)
    _refused(capsys, ["export-sdtm", "--case", str(SEED), "--out", str(out)],
             f"{out / 'tu.csv'} exists and was not written by 'casekit export-sdtm'")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


def test_another_commands_folder_is_not_ours(tmp_path, capsys):
    out = tmp_path / "cases"
    assert cli.main(["import-sdtm", str(SDTM), "--out", str(out), "--subjects", ONE]) == 0
    capsys.readouterr()
    before = snapshot(tmp_path)
    _refused(capsys, ["export-sdtm", "--case", str(SEED), "--out", str(out)],
             "written by 'casekit import-sdtm'")
    _refused(capsys, ["run", "--case", str(SEED), "--out", str(out)],
             "not empty and not a casekit output folder")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ import-sdtm


@pytest.mark.parametrize("where", WHERE)
def test_import_sdtm_refuses_unsafe_out(tmp_path, capsys, monkeypatch, mine, where):
    sdtm = shutil.copytree(SDTM, tmp_path / "input" / "sdtm")
    monkeypatch.chdir(mine)
    before = snapshot(tmp_path)
    _refused(capsys, ["import-sdtm", str(sdtm), "--subjects", ONE, "--out",
                      _unsafe(tmp_path, where, sdtm, mine)],
             MESSAGES.get(where, "give it a folder of its own"))
    assert changed_but_locks(before, snapshot(tmp_path)) == []


def test_import_sdtm_never_writes_into_a_users_subject_folder(tmp_path, capsys):
    out = tmp_path / "cases"
    (out / safe_name(ONE)).mkdir(parents=True)
    (out / safe_name(ONE) / "facts.csv").write_text("mine\n", encoding="utf-8")
    before = snapshot(tmp_path)
    _refused(capsys, ["import-sdtm", str(SDTM), "--subjects", ONE, "--out", str(out)],
             "not empty and not a 'casekit import-sdtm' output folder")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


def test_import_sdtm_rerun_replaces_only_its_own_files(tmp_path, capsys):
    out = tmp_path / "cases"
    assert cli.main(["import-sdtm", str(SDTM), "--out", str(out), "--subjects", ONE, TWO]) == 0
    one, two = out / safe_name(ONE), out / safe_name(TWO)
    assert (one / "facts.csv").is_file() and (two / "facts.csv").is_file()
    facts = (one / "facts.csv").read_bytes()
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    (two / "my-reading.txt").write_text("mine\n", encoding="utf-8")
    # re-run with one subject: the other subject's files go (recorded, unchanged), the
    # user's files stay, so the subject folder stays holding only the user's file
    assert cli.main(["import-sdtm", str(SDTM), "--out", str(out), "--subjects", ONE]) == 0
    assert (one / "facts.csv").read_bytes() == facts
    assert sorted(p.name for p in two.iterdir()) == ["my-reading.txt"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert all(not rel.startswith(safe_name(TWO)) for rel in _owned(out))
    # an edited file of the import is never overwritten
    (one / "lesions.csv").write_text("corrected by hand\n", encoding="utf-8")
    capsys.readouterr()
    before = snapshot(tmp_path)
    _refused(capsys, ["import-sdtm", str(SDTM), "--out", str(out), "--subjects", ONE],
             "lesions.csv was changed after 'casekit import-sdtm' wrote it")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ concordance


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    from casekit.interop.sdtm import import_sdtm

    out = tmp_path_factory.mktemp("imported") / "cases"
    import_sdtm(SDTM, out, subjects=[ONE], echo=lambda line: None)
    return out / safe_name(ONE)


@pytest.mark.parametrize("where", WHERE)
def test_concordance_refuses_unsafe_out(imported, tmp_path, capsys, monkeypatch, mine, where):
    monkeypatch.chdir(mine)
    (mine / "concordance_visits.csv").write_text("mine\n", encoding="utf-8")
    before, case_before = snapshot(tmp_path), snapshot(imported.parent)
    _refused(capsys, ["concordance", str(imported), "--out",
                      _unsafe(tmp_path, where, imported, mine)],
             MESSAGES.get(where, "give it a folder of its own"))
    assert changed_but_locks(before, snapshot(tmp_path)) == []
    assert changed_but_locks(case_before, snapshot(imported.parent)) == []


def test_concordance_refuses_out_inside_the_sdtm_folder(tmp_path, capsys):
    sdtm = shutil.copytree(SDTM, tmp_path / "sdtm")
    before = snapshot(tmp_path)
    _refused(capsys, ["concordance", "--sdtm", str(sdtm), "--subjects", ONE, "--out",
                      str(sdtm / "out")], "is the SDTM folder")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


def test_concordance_rerun_replaces_only_its_own_files(imported, tmp_path, capsys):
    out = tmp_path / "conc"
    argv = ["concordance", str(imported), "--out", str(out)]
    assert cli.main(argv) == 0
    visits = (out / "concordance_visits.csv").read_bytes()
    assert _owned(out)["concordance_visits.csv"] == hashlib.sha256(visits).hexdigest()
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    assert cli.main(argv) == 0
    assert (out / "concordance_visits.csv").read_bytes() == visits
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    (out / "concordance_summary.csv").write_text("edited\n", encoding="utf-8")
    capsys.readouterr()
    before = snapshot(tmp_path)
    _refused(capsys, argv, "concordance_summary.csv was changed after 'casekit concordance'")
    assert changed_but_locks(before, snapshot(tmp_path)) == []


# ------------------------------------------------------------------ series


class _Done:
    """A finished task: the stand-in for a Dask future."""

    def __init__(self, fn, *args, **kwargs) -> None:
        self.value = fn(*args)


class _InlineClient:
    def nthreads(self) -> dict:
        return {"inline": 1}

    def submit(self, fn, *args, **kwargs) -> _Done:
        return _Done(fn, *args)


@contextmanager
def _inline_cluster(scheduler=None, jobs=None):
    yield _InlineClient()


def _inline_gather(client, futures, progress, describe) -> dict:
    results = {}
    for future, keys in futures.items():
        pairs = zip(keys, future.value) if isinstance(keys, list) else [(keys, future.value)]
        results.update(pairs)
    return results


@pytest.fixture
def inline_dask(monkeypatch):
    monkeypatch.setattr(series_run, "cluster_client", _inline_cluster)
    monkeypatch.setattr(series_run, "_gather", _inline_gather)


def _series(cases: list[Path], out) -> series_run.SeriesResult:
    return series_run.run_series(cases=[str(c) for c in cases], out_dir=out, notebooks=False,
                                 echo=lambda line: None, tty=False)


@pytest.mark.parametrize("where", [*WHERE, "old-series"])
def test_series_refuses_unsafe_out(tmp_path, capsys, monkeypatch, mine, where):
    case = synthetic.write_case(tmp_path / "cases" / "A", "A", "A")
    monkeypatch.chdir(mine)
    old = tmp_path / "old"
    (old / "tables").mkdir(parents=True)
    (old / "tables" / "mine.csv").write_text("mine\n", encoding="utf-8")
    (old / ".casekit-series").write_text("Written by 'casekit series'", encoding="utf-8")
    out = str(old) if where == "old-series" else _unsafe(tmp_path, where, case, mine)
    before = snapshot(tmp_path)
    _refused(capsys, ["series", "--cases", str(case), "--out", out],
             MESSAGES.get(where, "not empty and not a" if where == "old-series"
                          else "give it a folder of its own"))
    assert changed_but_locks(before, snapshot(tmp_path)) == []


def test_series_rerun_replaces_only_its_own_files(tmp_path, inline_dask):
    cases = [synthetic.write_case(tmp_path / "cases" / s, s, c) for s, c in (("A", "A"),
                                                                              ("B", "B"))]
    out = tmp_path / "series"
    _series(cases, out)
    tables = sorted(p.name for p in (out / "tables").iterdir())
    assert tables and all(f"tables/{t}" in _owned(out) for t in tables)
    first = {t: (out / "tables" / t).read_bytes() for t in tables}
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    (out / "figures").mkdir()
    (out / "figures" / "stale.png").write_bytes(b"png")
    # a file of the user's where the series writes: refused, nothing written or removed
    before = snapshot(tmp_path)
    with pytest.raises(series_run.SeriesInputError, match="stale.png exists and was not "
                       "written by 'casekit series'"):
        _series(cases, out)
    assert changed_but_locks(before, snapshot(tmp_path)) == []
    (out / "figures" / "stale.png").unlink()
    _series(cases, out)
    assert {t: (out / "tables" / t).read_bytes() for t in tables} == first
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    # an edited table is never overwritten
    (out / "tables" / tables[0]).write_text("edited\n", encoding="utf-8")
    before = snapshot(tmp_path)
    with pytest.raises(series_run.SeriesInputError, match="was changed after 'casekit series'"):
        _series(cases, out)
    assert changed_but_locks(before, snapshot(tmp_path)) == []
