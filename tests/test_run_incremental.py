"""Issue 14, incremental runs: a notebook whose inputs are unchanged is reused, not
executed; the report and tables are byte-identical to a full run's; ``--force`` executes all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casekit.run import inputs, runner
from conftest import DATA, DEMO_CASE
from test_runner import PNG_1PX, make_notebook

SEED = DATA / "jlc2022"
PARAMS = 'case_dir = "../data/jlc2022"\nout_dir = "../build/jlc2022"\nlabel = "x"\n'
FIGURE = '''\
import base64
from pathlib import Path
(Path(out_dir) / "figures").mkdir(parents=True, exist_ok=True)
(Path(out_dir) / "figures" / "timeline.png").write_bytes(base64.b64decode("{png}"))
'''.format(png=PNG_1PX)
TABLE = '''\
from pathlib import Path
(Path(out_dir) / "tables").mkdir(parents=True, exist_ok=True)
n = len((Path(case_dir) / "source.txt").read_text(encoding="utf-8"))
(Path(out_dir) / "tables" / "claims.csv").write_text(f"label,source_chars\\n{label},{n}\\n")
'''
NAMES = ["fig.ipynb", "tab.ipynb"]


def user_files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".casekit" not in p.parts}


def report_and_tables(out: Path) -> dict[str, bytes]:
    return {k: v for k, v in user_files(out).items()
            if k == "report.html" or k.startswith("tables/")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    case = shutil.copytree(SEED, root / "case")
    nbs = root / "nbs"
    make_notebook(nbs / "fig.ipynb", FIGURE, params=PARAMS)
    make_notebook(nbs / "tab.ipynb", TABLE, params=PARAMS)
    out = root / "out"

    def run(target=out, **kwargs):
        lines: list[str] = []
        result = runner.run_collection(case, target, notebooks_dir=nbs, notebook_names=NAMES,
                                       echo=lines.append, **kwargs)
        assert result.exit_code == 0, lines
        return result, lines, user_files(target)

    state = {"full": run()}
    state["noop"] = run()
    # change one notebook: only it runs again
    make_notebook(nbs / "tab.ipynb", TABLE, "print('changed')", params=PARAMS)
    state["one"] = run()
    state["force"] = run(force=True)  # a full run of the same state
    return state


def executed(result) -> list[str]:
    return [r.name for r in result.notebooks if not r.reused]


@pytest.mark.slow  # two whole-collection runs: make test-slow / CI
def test_nothing_changed_reuses_every_notebook_and_says_so(runs):
    result, lines, files = runs["noop"]
    assert executed(result) == []
    assert [line for line in lines if line.startswith("[reuse]")] == [
        f"[reuse] {name}  inputs unchanged since the last run" for name in NAMES]
    assert "2 notebooks: 2 ok (2 reused), 0 failed in " in lines[-1]
    assert files == runs["full"][2]  # every output byte-identical


@pytest.mark.slow  # whole-collection runs (10 s): make test-slow / CI
def test_a_changed_notebook_alone_runs_again(runs):
    result, lines, files = runs["one"]
    assert executed(result) == ["tab.ipynb"]
    assert "[reuse] fig.ipynb  inputs unchanged since the last run" in lines
    assert files["notebooks/tab.ipynb"] != runs["full"][2]["notebooks/tab.ipynb"]


@pytest.mark.slow  # whole-collection runs (10 s): make test-slow / CI
def test_force_executes_everything_and_equals_the_incremental_run(runs):
    result, lines, files = runs["force"]
    assert executed(result) == NAMES
    assert not [line for line in lines if line.startswith("[reuse]")]
    # the incremental run (one notebook reused) gave the same report and tables, byte for byte
    assert sorted(report_and_tables(Path(result.out_dir))) == ["report.html",
                                                               "tables/claims.csv"]
    incremental = {k: v for k, v in runs["one"][2].items()
                   if k == "report.html" or k.startswith("tables/")}
    assert report_and_tables(Path(result.out_dir)) == incremental


# ------------------------------------------------------------ what the key covers


def _key(nb: Path, case: Path, params=None, env="env", cwd=None) -> str:
    injected = {"case_dir": str(case), "out_dir": "/o", **(params or {})}
    return inputs.notebook_key(nb, injected, inputs.case_hash(case), env, cwd or nb.parent)


def test_the_key_covers_notebook_case_files_parameters_environment(tmp_path):
    case = shutil.copytree(DEMO_CASE, tmp_path / "case")
    nb = make_notebook(tmp_path / "nbs" / "n.ipynb", "x = 1")
    base = _key(nb, case)
    assert _key(nb, case) == base  # deterministic
    keys = {"params": _key(nb, case, {"count_suspected": True}),
            "env": _key(nb, case, env="other casekit source or pins")}
    (case / "notes.txt").write_text("a new file of the case")
    keys["new case file"] = _key(nb, case)
    (case / "notes.txt").write_text("an edited file of the case")
    keys["edited case file"] = _key(nb, case)
    make_notebook(nb, "x = 2")
    keys["notebook"] = _key(nb, case)
    ref = tmp_path / "nbs" / "ref"
    ref.mkdir()
    (ref / "trials.csv").write_text("a\n")
    keys["referenced folder"] = _key(nb, case, {"reference_dir": "ref"})
    (ref / "trials.csv").write_text("b\n")
    assert _key(nb, case, {"reference_dir": "ref"}) != keys["referenced folder"]
    assert len({base, *keys.values()}) == len(keys) + 1, keys


def test_environment_hash_covers_the_pins_and_the_package(tmp_path, monkeypatch):
    pins = tmp_path / "requirements.txt"
    pins.write_text("pandas==3.0.0\n")
    monkeypatch.setattr(inputs, "REQUIREMENTS", pins)
    inputs.environment_hash.cache_clear()
    one = inputs.environment_hash()
    pins.write_text("pandas==3.0.1\n")
    inputs.environment_hash.cache_clear()
    assert inputs.environment_hash() != one
    package = shutil.copytree(inputs.PACKAGE_DIR, tmp_path / "casekit",
                              ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(inputs, "PACKAGE_DIR", package)
    inputs.environment_hash.cache_clear()
    two = inputs.environment_hash()
    (package / "rules" / "response.py").write_text("# edited\n", encoding="utf-8")
    inputs.environment_hash.cache_clear()
    assert inputs.environment_hash() != two
    inputs.environment_hash.cache_clear()


@pytest.mark.slow
def test_the_real_collection_rerun_is_a_no_op_with_identical_outputs(tmp_path):
    out = tmp_path / "out"
    first = runner.run_collection(DEMO_CASE, out, echo=None)
    assert first.exit_code == 0
    before = user_files(out)
    again = runner.run_collection(DEMO_CASE, out, echo=None)
    assert again.exit_code == 0 and executed(again) == []
    assert user_files(out) == before
