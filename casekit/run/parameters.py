"""The notebook parameters: the one declared place of their names, types, defaults, ranges
and meaning.

Every notebook's ``parameters`` cell assigns some of these; a test checks that each stored
default equals the declared one (so saving a notebook in JupyterLab with a changed value
cannot silently change what ``make run`` produces), and the README's table of parameters is
generated from :data:`PARAMETERS` (:func:`markdown_table`).

``casekit run -p NAME VALUE`` goes through :func:`parse_parameters`, strictly: an unknown
name or a value of the wrong type or out of range is an error before anything runs (exit
2). Booleans are ``true``/``false`` (any case) or ``1``/``0`` (papermill's own typing makes
``false`` the truthy string "false"); lists are ``AFP,CEA`` or JSON (``["AFP", "CEA"]``);
numbers are finite and inside their range; ``None`` is accepted where a parameter may be
empty.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS = ("bool", "int", "float", "str", "list[str]", "list[float]")


@dataclass(frozen=True)
class Parameter:
    """One notebook parameter. ``low``/``high`` bound a number (or each number of a list),
    inclusive; ``choices`` restrict a text; ``nullable`` allows ``None``; ``reserved`` ones
    are set by the runner from ``--case``/``--out`` and cannot be passed with ``-p``."""

    name: str
    kind: str
    default: Any
    doc: str
    notebooks: tuple[str, ...]
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    reserved: bool = False
    example: Any = None  # a valid value for messages when the default is None

    @property
    def range_text(self) -> str:
        """The accepted values in words, for messages and the README."""
        if self.choices:
            text = ", ".join(self.choices)
        elif self.kind == "bool":
            text = "true, false (or 1, 0)"
        elif self.low is not None or self.high is not None:
            text = f"{_num(self.low) if self.low is not None else '…'} to " \
                   f"{_num(self.high) if self.high is not None else '…'}"
            if self.kind.startswith("list"):
                text = "each " + text
        elif self.kind == "list[str]":
            text = "one or more, e.g. AFP,CEA"
        else:
            text = "any text"
        return text + (", or None" if self.nullable else "")


def _num(value: float) -> str:
    return f"{value:g}"


_ALL = tuple(f"0{i}" for i in range(1, 8))  # every notebook of the collection
NB = {
    "01": "01_case_overview.ipynb", "02": "02_timeline.ipynb", "03": "03_tumour_markers.ipynb",
    "04": "04_tumour_response.ipynb", "05": "05_liver_staging_tare.ipynb",
    "06": "06_trial_context.ipynb", "07": "07_claims_check.ipynb",
}


def _in(*numbers: str) -> tuple[str, ...]:
    return tuple(NB[n] for n in numbers)


#: Every parameter of the collection, in the order the notebooks introduce them.
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("case_dir", "str", "../data/jlc2022", "the case folder (set by --case)",
              _in(*_ALL), reserved=True),
    Parameter("out_dir", "str", None, "where figures/ and tables/ go; None: ../build/interactive/ and "
              "the case folder name (set by --out)", _in(*_ALL), nullable=True, reserved=True),
    Parameter("day_label", "str", None, "x-axis label of the timeline; None: named after the "
              "day-0 event of the case", _in("02"), nullable=True),
    Parameter("marker_tests", "list[str]", None, "tumour markers to follow (at least one); "
              "None: every marker the case has", _in("03"), nullable=True,
              example=["AFP", "CEA"]),
    Parameter("viral_test", "str", None, "viral load test (log scale); None: every viral "
              "load the case has", _in("03"), nullable=True),
    Parameter("reference_event", "str", None, "event whose value is the marker reference; "
              "None: the first value of each test", _in("03"), nullable=True),
    Parameter("alternative_reference_event", "str", "referral", "a second reference to "
              "compare (skipped if the case has no such event)", _in("03")),
    # a decline is a percentage: strictly between 0 and 100 to mean anything
    Parameter("thresholds", "list[float]", [20, 50, 75], "% decline that counts as a marker "
              "response", _in("03"), low=1, high=99),
    Parameter("primary_criteria", "str", "mRECIST", "criteria of the spider plot",
              _in("04"), choices=("mRECIST", "RECIST1.1")),
    Parameter("count_suspected", "bool", False, "count suspected (unconfirmed) new lesions "
              "as new lesions", _in("04", "07")),
    # RECIST 1.1 §4.6.1 asks for at least 4 weeks; a year is beyond any protocol's interval
    Parameter("confirm_days", "int", 28, "minimum interval that confirms a CR/PR (RECIST 1.1 "
              "§4.6.1)", _in("04"), low=0, high=365),
    Parameter("min_sd_days", "int", 42, "minimum time from baseline for stable disease to "
              "count", _in("04"), low=0, high=365),
    Parameter("lung_limit_gy", "float", 30.0, "single-treatment lung dose limit (glass "
              "microspheres)", _in("05"), low=1, high=100),
    Parameter("lung_mass_kg", "float", 1.0, "lung mass of the single-compartment MIRD model",
              _in("05"), low=0.1, high=5),
    # the sweep has max/step points: 200 GBq in 0.01 GBq steps is 20,001, not 10^11
    Parameter("max_activity_gbq", "float", 40.0, "upper end of the activity sweep",
              _in("05"), low=0.5, high=200),
    Parameter("activity_step_gbq", "float", 0.5, "step of the activity sweep", _in("05"),
              low=0.01, high=10),
    Parameter("perfused_masses_kg", "list[float]", [0.5, 1.0, 1.5], "illustrative perfused "
              "liver masses (not case data)", _in("05"), low=0.05, high=5),
    Parameter("reference_dir", "str", None, "folder holding trials.csv; None: the case "
              "folder", _in("06"), nullable=True),
    Parameter("include_assumed", "bool", True, "also show trial figures the case report does "
              "not state", _in("06")),
)
BY_NAME = {p.name: p for p in PARAMETERS}


def _error(message: str) -> Exception:
    from casekit.run.errors import RunInputError  # the runner's bad-input error (exit 2)

    return RunInputError(message)


def _number(p: Parameter, text: str, integer: bool) -> float | int:
    pattern = r"[-+]?[0-9]+" if integer else r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?"
    if not re.fullmatch(pattern, text.strip()):
        raise _error(f"-p {p.name} {text!r}: expected {'a whole number' if integer else 'a number'}"
                     f" ({p.range_text})")
    value = int(text) if integer else float(text)
    if not math.isfinite(value) or (p.low is not None and value < p.low) or (
            p.high is not None and value > p.high):
        raise _error(f"-p {p.name} {text}: out of range; expected {p.range_text}")
    return value


def _items(p: Parameter, text: str) -> list[str]:
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise _error(f"-p {p.name} {text!r}: not a JSON list ({exc.msg})") from None
        if not isinstance(items, list):
            raise _error(f"-p {p.name} {text!r}: expected a list, not JSON {type(items).__name__}")
        return [json.dumps(i) if not isinstance(i, str) else i for i in items]
    return [item.strip() for item in stripped.split(",")] if stripped else []


def parse_value(p: Parameter, text: str) -> Any:
    """The typed value of ``-p NAME TEXT`` for parameter ``p``, or :class:`RunInputError`."""
    if p.nullable and text.strip() == "None":
        return None
    if p.kind == "bool":
        word = text.strip().lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        raise _error(f"-p {p.name} {text!r}: expected true or false (or 1, 0)")
    if p.kind in ("int", "float"):
        return _number(p, text, integer=p.kind == "int")
    if p.kind == "str":
        if p.choices and text not in p.choices:
            raise _error(f"-p {p.name} {text!r}: expected one of {', '.join(p.choices)}")
        return text
    items = _items(p, text)
    if not items or any(item == "" for item in items):
        example = p.default if p.default is not None else p.example
        raise _error(f"-p {p.name} {text!r}: expected a non-empty list such as "
                     f"{','.join(map(str, example))} or {json.dumps(example)}")
    if p.kind == "list[str]":
        return items
    return [_tidy(_number(p, item, integer=False)) for item in items]


def _tidy(value: float) -> float | int:
    """20.0 -> 20, as the notebooks write their whole-number thresholds."""
    return int(value) if float(value).is_integer() else value


def notebook_parameter_names(folder: str | Path) -> set[str]:
    """Names assigned in the ``parameters`` cells of the notebooks in ``folder``."""
    names: set[str] = set()
    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                source = "".join(cell.get("source", ""))
                names |= set(re.findall(r"(?m)^([A-Za-z_]\w*)\s*=", source))
    return names


def parse_parameters(pairs: Iterable[tuple[str, str]] | None,
                     notebooks_dir: str | Path | None = None) -> dict[str, Any]:
    """``[(name, text), ...]`` from ``-p NAME VALUE`` into typed parameters.

    Raises :class:`casekit.run.runner.RunInputError` for an unknown or reserved name
    (with the nearest known one) and for a value of the wrong type or out of range.
    ``notebooks_dir``, a folder of one's own notebooks (``--notebooks-dir``), adds the
    names its parameters cells assign; those not declared here are typed as papermill's
    ``-p`` types them.
    """
    own: set[str] = set()
    if notebooks_dir is not None:
        own = notebook_parameter_names(notebooks_dir) - set(BY_NAME)
    params: dict[str, Any] = {}
    for name, text in pairs or []:
        p = BY_NAME.get(name)
        if p is None and name in own:
            params[name] = papermill_value(text)  # a notebook's own parameter: as papermill types it
            continue
        if p is None:
            close = difflib.get_close_matches(name, list(BY_NAME), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise _error(f"unknown parameter '{name}'{hint} (the parameters are listed in "
                         "the README and casekit/run/parameters.py)")
        if p.reserved:
            raise _error(f"parameter '{name}' is set by --case/--out; do not pass it with -p")
        params[name] = parse_value(p, text)
    return params


def check_notebook_names(names: list[str] | None, available: Iterable[str]) -> list[str] | None:
    """``--notebook`` names, each of which must be a notebook of the folder (exit 2 with
    the nearest name otherwise, before anything runs)."""
    if names is None:
        return None
    known = sorted(available)
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise _error(f"--notebook {name}: no such notebook{hint}")
    return names


def markdown_table() -> str:
    """The README's table of parameters, generated from :data:`PARAMETERS`."""
    lines = ["| parameter | type | default | accepted | notebooks | meaning |",
             "|---|---|---|---|---|---|"]
    for p in PARAMETERS:
        default = "None" if p.default is None else json.dumps(p.default, ensure_ascii=False)
        if p.kind == "bool":
            default = str(p.default).lower()
        books = ", ".join(n[:2] for n in p.notebooks) if len(p.notebooks) < 7 else "all"
        lines.append(f"| `{p.name}` | {p.kind} | `{default}` | {p.range_text} | {books} | "
                     f"{p.doc} |")
    return "\n".join(lines) + "\n"


def _papermill_resolve_type() -> Callable[[str], Any]:
    try:  # the exact logic of `papermill -p NAME VALUE`
        from papermill.cli import _resolve_type
        return _resolve_type
    except ImportError:  # pragma: no cover - papermill moved it
        def resolve(value: str) -> Any:
            if value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[value]
            for cast in (int, float):
                try:
                    return cast(value)
                except ValueError:
                    pass
            return value
        return resolve


def papermill_value(value: str) -> Any:
    """A ``-p`` value typed as papermill's CLI types it: int, float, True/False/None, else str."""
    return _papermill_resolve_type()(value)
