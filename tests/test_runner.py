"""casekit run / refresh-notebooks: the execution layer, on small throw-away notebooks.

The real notebooks are not used here: each test builds tiny notebooks with nbformat that
follow the collection's contract (a ``parameters`` cell with case_dir/out_dir, writing
figures/ and tables/ under out_dir). Kernel start-up costs about a second, so one
module-scoped pair of runs serves most assertions.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from casekit import cli
from casekit.run import runner

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "jlc2022"
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
           "awAAAABJRU5ErkJggg==")
PARAMS = 'case_dir = "../data/jlc2022"\nout_dir = "../build/jlc2022"\n'


def make_notebook(path: Path, *sources: str, params: str = PARAMS) -> Path:
    """A notebook: a markdown title, the parameters cell, then one code cell per source."""
    param_cell = new_code_cell(params)
    param_cell.metadata["tags"] = ["parameters"]
    cells = [new_markdown_cell(f"# {path.stem}"), param_cell]
    cells += [new_code_cell(src) for src in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


OK_A = '''\
import base64, json, os
from pathlib import Path
out = Path(out_dir)
(out / "figures").mkdir(parents=True, exist_ok=True)
(out / "tables").mkdir(parents=True, exist_ok=True)
(out / "figures" / "timeline.png").write_bytes(base64.b64decode("{png}"))
(out / "tables" / "response.csv").write_text("event_id,category\\nct_c3,PR\\n")
seen = {{name: [type(value).__name__, value] for name, value in
        dict(case_dir=case_dir, out_dir=out_dir, scale=scale, flag=flag, label=label,
             nothing=nothing, count=count).items()}}
seen["env"] = {{k: os.environ.get(k) for k in ("PYTHONHASHSEED", "TZ")}}
seen["cwd"] = os.getcwd()
(out / "a_params.json").write_text(json.dumps(seen, sort_keys=True))
print("a done")
'''.format(png=PNG_1PX)
OK_A_PARAMS = PARAMS + 'scale = 1\nflag = False\nlabel = "x"\nnothing = 0\ncount = 0\n'

FAIL_B = ("x = 1", "d = {}\nd['size_cm']",
          "from pathlib import Path\n(Path(out_dir) / 'b_after.txt').write_text('no')")

OK_C = '''\
from pathlib import Path
out = Path(out_dir)
(out / "figures").mkdir(parents=True, exist_ok=True)
svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
(out / "figures" / "markers.svg").write_text(svg)
(out / "tables").mkdir(parents=True, exist_ok=True)
(out / "tables" / "markers.csv").write_text("test,value\\nAFP,654.0\\n")
'''


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """Three notebooks (one failing) run through the CLI, then the two good ones again."""
    root = tmp_path_factory.mktemp("runner")
    case = shutil.copytree(SEED, root / "case")
    nbs = root / "notebooks"
    make_notebook(nbs / "a_ok.ipynb", OK_A, params=OK_A_PARAMS)
    make_notebook(nbs / "b_fail.ipynb", *FAIL_B)
    make_notebook(nbs / "c_ok.ipynb", OK_C)
    out, figs = root / "out", root / "repo_figures"
    common = ["run", "--case", str(case), "--out", str(out), "--notebooks-dir", str(nbs),
              "--jobs", "2", "--figures", str(figs)]
    params = ["-p", "scale", "2.5", "-p", "flag", "True", "-p", "label", "abc",
              "-p", "nothing", "None", "-p", "count", "3"]

    def run(*names, force=False):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            code = cli.main(common + params + [a for n in names for a in ("--notebook", n)]
                            + (["--force"] if force else []))
        return code, buffer.getvalue()

    code1, text1 = run("a_ok.ipynb", "b_fail.ipynb", "c_ok.ipynb")
    first = {n: (out / "notebooks" / n).read_bytes() for n in ("a_ok.ipynb", "c_ok.ipynb")}
    figs_after_failure = figs.exists()
    code2, text2 = run("a_ok.ipynb", "c_ok.ipynb", force=True)
    return {"case": case, "nbs": nbs, "out": out, "figs": figs, "code1": code1,
            "text1": text1, "first": first, "figs_after_failure": figs_after_failure,
            "code2": code2, "text2": text2}


# ------------------------------------------------------------ progress, failure


@pytest.mark.slow  # executes the collection: make test-slow / CI
def test_progress_lines_and_summary(collection):
    text = collection["text1"]
    for name in ("a_ok.ipynb", "b_fail.ipynb", "c_ok.ipynb"):
        assert f"[start] {name}\n" in text
    assert re.search(r"^\[ ok  \] a_ok\.ipynb  \d+\.\d s$", text, re.M)
    assert re.search(r"^\[ ok  \] c_ok\.ipynb  \d+\.\d s$", text, re.M)
    assert re.search(r"^\[FAIL \] b_fail\.ipynb  \d+\.\d s$", text, re.M)
    assert re.search(r"^3 notebooks: 2 ok, 1 failed in \d+\.\d s$", text, re.M)
    assert re.search(r"^2 notebooks: 2 ok, 0 failed in \d+\.\d s$", collection["text2"], re.M)
    # a [start] line always comes before its result line
    assert text.index("[start] c_ok.ipynb") < text.index("[ ok  ] c_ok.ipynb")


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_failing_notebook_gives_exit_1_and_one_line_summary(collection):
    assert collection["code1"] == 1
    failed = [line for line in collection["text1"].splitlines() if line.startswith("FAILED")]
    # cell 4 of the source notebook (markdown, parameters, x = 1, the failing one) is
    # In [4] of the executed copy (parameters, injected parameters, x = 1, the failing one)
    assert failed == ["FAILED b_fail.ipynb cell 4 (In [4]): KeyError: 'size_cm'"]
    assert collection["text1"].rstrip().endswith(failed[0])
    assert "Traceback" not in collection["text1"]


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_other_notebooks_finish_and_failed_copy_is_kept(collection):
    out = collection["out"]
    assert (out / "tables" / "response.csv").is_file()
    assert (out / "tables" / "markers.csv").is_file()
    failed = nbformat.read(out / "notebooks" / "b_fail.ipynb", as_version=4)
    errors = [o for c in failed.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert [(e.ename, e.evalue) for e in errors] == [("KeyError", "'size_cm'")]
    assert not (out / "b_after.txt").exists()  # execution stopped at the error


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_parameters_pass_through_typed(collection):
    seen = json.loads((collection["out"] / "a_params.json").read_text())
    assert seen["scale"] == ["float", 2.5]
    assert seen["flag"] == ["bool", True]
    assert seen["label"] == ["str", "abc"]
    assert seen["nothing"] == ["NoneType", None]
    assert seen["count"] == ["int", 3]
    assert seen["case_dir"] == ["str", str(collection["case"].resolve())]
    # each notebook writes into a staging folder of its own, moved into OUT afterwards
    assert seen["out_dir"] == ["str", str(collection["out"].resolve() / ".casekit" / "work"
                                          / "a_ok")]
    assert seen["cwd"] == str(collection["nbs"].resolve())
    assert seen["env"] == {"PYTHONHASHSEED": "0", "TZ": "UTC"}


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_executed_notebooks_are_stripped_and_byte_identical(collection):
    out = collection["out"]
    for name, before in collection["first"].items():
        after = (out / "notebooks" / name).read_bytes()
        assert after == before, f"{name} differs between two runs"
        nb = json.loads(after)
        assert "papermill" not in nb["metadata"] and "widgets" not in nb["metadata"]
        for cell in nb["cells"]:
            assert "papermill" not in cell["metadata"]
            assert "execution" not in cell["metadata"]
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(isinstance(c["execution_count"], int) for c in code)
        injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
        assert [c["id"] for c in injected] == ["injected-parameters"]
        assert after.endswith(b"}\n")


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_figures_copied_only_after_a_successful_run(collection):
    assert collection["code2"] == 0
    assert not collection["figs_after_failure"]
    figs, out = collection["figs"], collection["out"]
    assert sorted(p.name for p in figs.iterdir()) == ["markers.svg", "timeline.png"]
    assert (figs / "timeline.png").read_bytes() == (out / "figures" / "timeline.png").read_bytes()


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_report_is_self_contained(collection):
    html = (collection["out"] / "report.html").read_text(encoding="utf-8")
    assert "Concurrent transarterial radioembolization" in html
    assert "data:image/png;base64," in html and "data:image/svg+xml;base64," in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "not produced for this case" in html  # e.g. the spider plot


@pytest.mark.slow  # executes notebooks: make test-slow / CI
def test_parameter_no_notebook_knows_is_an_error_before_anything_runs(collection, tmp_path):
    # 'scale' & co. are known to a_ok only: fine, typed as papermill does; 'typo' is known
    # to none of them: exit 2 and nothing created (issue 9 item 10)
    out = tmp_path / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["run", "--case", str(collection["case"]), "--out", str(out),
                         "--notebooks-dir", str(collection["nbs"]), "-p", "typo", "1"])
    assert code == 2 and "unknown parameter 'typo'" in err.getvalue()
    assert not out.exists()
    assert not [line for line in collection["text1"].splitlines() if "warning" in line]


# ------------------------------------------------------------------ bad input


def _broken_case(tmp_path: Path) -> Path:
    case = shutil.copytree(SEED, tmp_path / "bad")
    labs = case / "labs.csv"
    labs.write_text(labs.read_text(encoding="utf-8").replace(",654.0,", ",6 54,"),
                    encoding="utf-8")
    return case


def test_invalid_case_exits_2_and_creates_nothing(tmp_path, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("nothing may be executed for an invalid case")

    monkeypatch.setattr(runner, "_execute_many", never)
    out = tmp_path / "out"
    code = cli.main(["run", "--case", str(_broken_case(tmp_path)), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert re.search(r"^\S*labs\.csv:\d+:\d+: value: '6 54' is not a number", captured.out, re.M)
    assert "Traceback" not in captured.out + captured.err
    assert not out.exists()


@pytest.mark.parametrize("argv, message", [
    (["-p", "case_dir", "x"], "set by --case/--out"),
    (["-p", "not-a-name", "1"], "unknown parameter 'not-a-name'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--notebooks-dir", "/nonexistent/casekit"], "notebooks folder not found"),
])
def test_bad_arguments_exit_2_without_traceback(tmp_path, capsys, argv, message):
    out = tmp_path / "out"
    code = cli.main(["run", "--case", str(SEED), "--out", str(out)] + argv)
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists()


def test_missing_notebook_is_a_failure_without_a_kernel(tmp_path):
    lines: list[str] = []
    result = runner.run_collection(SEED, tmp_path / "out", notebooks_dir=tmp_path,
                                   notebook_names=["nope.ipynb"], echo=lines.append)
    assert result.exit_code == 1
    assert "FAILED nope.ipynb: FileNotFoundError: notebook not found:" in lines[-1]
    assert (tmp_path / "out" / "report.html").is_file()  # the report says what is missing


# -------------------------------------------------------------- pure helpers


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("-2", -2), ("2.5", 2.5), ("1e3", 1000.0), ("True", True), ("False", False),
    ("None", None), ("abc", "abc"), ("true", "true"), ("", ""),
])
def test_parse_value_like_papermill_cli(text, value):
    parsed = runner.parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_parse_parameters_rejects_reserved_and_bad_names():
    assert runner.parse_parameters([("confirm_days", "1"), ("confirm_days", "2")]) == {
        "confirm_days": 2}
    for name in ("case_dir", "out_dir", "1x", "a-b", "a"):
        with pytest.raises(runner.RunInputError):
            runner.parse_parameters([(name, "1")])


def test_collection_list():
    assert runner.collection_names() == [
        "01_case_overview.ipynb", "02_timeline.ipynb", "03_tumour_markers.ipynb",
        "04_tumour_response.ipynb", "05_liver_staging_tare.ipynb", "06_trial_context.ipynb",
        "07_claims_check.ipynb"]


def test_strip_run_metadata_is_deterministic():
    def executed():
        nb = new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("# Parameters\nx = 2")])
        nb.cells[0]["id"] = "kept"
        nb.cells[1].metadata["tags"] = ["injected-parameters"]
        nb.metadata["papermill"] = {"start_time": "now"}
        nb.metadata["widgets"] = {"state": {}}
        for cell in nb.cells:
            cell.metadata["papermill"] = {"duration": 1.0}
            cell.metadata["execution"] = {"iopub.status.busy": "now"}
        return nb

    one = runner.notebook_bytes(runner.strip_run_metadata(executed(), {"kept"}))
    two = runner.notebook_bytes(runner.strip_run_metadata(executed(), {"kept"}))
    assert one == two
    nb = json.loads(one)
    assert [c["id"] for c in nb["cells"]] == ["kept", "injected-parameters"]
    assert b"papermill" not in one and b"widgets" not in one and b"iopub" not in one


# ------------------------------------------------------- one notebook, refresh


def test_execute_notebook_api(tmp_path):
    source = make_notebook(tmp_path / "n.ipynb", "print(case_dir, out_dir)")
    result = runner.execute_notebook(source, tmp_path / "out" / "n.ipynb",
                                     {"case_dir": "C", "out_dir": "O", "extra": 1}, tmp_path)
    assert result.ok and result.name == "n.ipynb" and result.seconds > 0
    assert result.unknown_parameters == ("extra",)
    nb = nbformat.read(result.output, as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "C O\n"


@pytest.mark.slow  # executes the collection: make test-slow / CI
def test_refresh_notebooks_in_place(tmp_path):
    nbs = tmp_path / "notebooks"
    good = make_notebook(nbs / "good.ipynb", "print('fresh')")
    bad = make_notebook(nbs / "bad.ipynb", "raise ValueError('boom')")
    bad_before = bad.read_bytes()
    lines: list[str] = []
    result = runner.refresh_notebooks(nbs, jobs=2, echo=lines.append,
                                      notebook_names=["good.ipynb", "bad.ipynb"],
                                      case_dir=SEED)
    assert result.exit_code == 1
    assert lines[-1] == "FAILED bad.ipynb cell 3 (In [2]): ValueError: boom (left unchanged)"
    assert bad.read_bytes() == bad_before
    nb = json.loads(good.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 2]  # nbval needs the counts
    assert code[-1]["outputs"][0]["text"] == ["fresh\n"]
    assert not any("injected-parameters" in c["metadata"].get("tags", []) for c in code)
    assert "papermill" not in nb["metadata"]
    once = good.read_bytes()
    runner.refresh_notebooks(nbs, echo=None, notebook_names=["good.ipynb"], case_dir=SEED)
    assert good.read_bytes() == once
