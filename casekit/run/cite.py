"""How to cite what a run used: the software, from ``CITATION.cff``, and the article a case
comes from, from the case's facts (``title``, ``citation``, ``doi``, ``licence``; see
data/README.md).

``casekit cite [--case DIR] [--format text|bibtex]`` prints :func:`cite_text` or
:func:`cite_bibtex`. A case that does not state a fact says which ones are missing instead
of guessing them. When ``CITATION.cff`` lists the same DOI under ``references`` (as it does
for the seed case), the BibTeX entry takes its authors, journal and pages from there; the
facts still decide which article is cited.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casekit import render
from casekit.run.runner import REPO_DIR

CITATION_FILE = REPO_DIR / "CITATION.cff"
# The facts that identify a case's source article, in the order they are printed.
ARTICLE_FACTS = ("title", "citation", "doi", "licence")


class CiteError(ValueError):
    """Bad input for ``cite``: an unreadable CITATION.cff or an invalid case folder."""


@dataclass(frozen=True)
class CaseSource:
    """What a case's facts say about the article it comes from."""

    case_dir: Path
    facts: dict[str, str]  # the ARTICLE_FACTS the case states
    missing: tuple[str, ...]  # the ARTICLE_FACTS it does not


def read_software(path: str | Path = CITATION_FILE) -> dict[str, Any]:
    """The parsed ``CITATION.cff``; :class:`CiteError` when absent or not a YAML mapping."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CiteError(f"{path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise CiteError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or "title" not in data:
        raise CiteError(f"{path}: not a CITATION.cff (no title)")
    return data


def read_case_source(case_dir: str | Path) -> CaseSource:
    """The article facts of a valid case; :class:`CiteError` listing the problems otherwise."""
    from casekit.case import CaseError, load_case

    try:
        case = load_case(case_dir)
    except CaseError as exc:
        raise CiteError(f"{case_dir} is not a valid case:\n{exc}") from None
    stated = case.facts_dict
    # one line each, whatever the cell holds: a line break would forge a line of the text
    # (or, after a '%' note, a BibTeX entry), an escape sequence act on the terminal
    facts = {key: render.line(stated[key]) for key in ARTICLE_FACTS if key in stated}
    missing = tuple(key for key in ARTICLE_FACTS if key not in facts)
    return CaseSource(Path(case_dir), facts, missing)


def _person(author: dict[str, Any]) -> str:
    """'Park MK' from family-names Park, given-names 'M. K.'; an entity by its name."""
    if "family-names" not in author:
        return str(author.get("name", ""))
    initials = "".join(part[0] for part in str(author.get("given-names", ""))
                       .replace(".", " ").replace("-", " ").split())
    return f"{author['family-names']} {initials}".strip()


def _software_line(software: dict[str, Any]) -> str:
    parts = [", ".join(_person(a) for a in software.get("authors", [])), software["title"]]
    if software.get("version"):
        parts.append(f"Version {software['version']}")
    if software.get("doi"):
        parts.append(f"doi:{software['doi']}")
    if software.get("license"):
        parts.append(f"Licence: {software['license']}")
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the repository when inside it."""
    if path.is_absolute() and path.is_relative_to(REPO_DIR):
        return path.relative_to(REPO_DIR).as_posix()
    return str(path)


def _missing_note(source: CaseSource) -> str:
    return (f"{_shown(source.case_dir)} does not say {', '.join(source.missing)} of the article it "
            f"comes from: add these keys to its facts.csv (see data/README.md) to cite it.")


def cite_text(source: CaseSource, software: dict[str, Any]) -> str:
    """Plain text: the software citation, then the case's source article and its licence."""
    lines = ["Software (from CITATION.cff):", f"  {_software_line(software)}", "",
             f"Source article of the case {_shown(source.case_dir)} (from its facts.csv):"]
    labels = {"title": "Title", "citation": "Citation", "doi": "DOI", "licence": "Licence"}
    for key in ARTICLE_FACTS:
        if key in source.facts:
            value = source.facts[key]
            if key == "doi":
                value = f"https://doi.org/{value}"
            lines.append(f"  {labels[key] + ':':<10}{value}")
    if source.missing:
        lines.append(f"  {_missing_note(source)}")
    if "licence" in source.facts:
        lines += ["", f"The case data are under {source.facts['licence']}, the licence of the "
                  "article they are derived from: cite the article when you use them."]
    return "\n".join(lines) + "\n"


# BibTeX ends a field at the brace that balances its opening one, backslash or not, so a
# brace of the text is spelt as a command (an unbalanced "}" would close the field, and
# what follows could open an entry of its own); a doubled backslash is TeX's line break.
_BIBTEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}",
                   "}": r"\textbraceright{}", **{c: "\\" + c for c in "&%$#_"}}


def _bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in text)


def _bibtex_doi(doi: str) -> str:
    """A DOI as written (the field is verbatim) but for what would end the field: braces
    and backslashes, percent-encoded as doi.org resolves them."""
    return doi.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def _bibtex_entry(kind: str, key: str, fields: dict[str, str]) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items() if value)
    return f"@{kind}{{{key},\n{body}\n}}"


def _reference_with_doi(software: dict[str, Any], doi: str) -> dict[str, Any] | None:
    for ref in software.get("references", []) or []:
        if str(ref.get("doi", "")).lower() == doi.lower():
            return ref
    return None


def cite_bibtex(source: CaseSource, software: dict[str, Any]) -> str:
    """BibTeX entries for the software and the case's source article (``%`` lines are notes)."""
    authors = " and ".join(
        "{" + _bibtex_escape(_person(a)) + "}" if "family-names" not in a
        else _bibtex_escape(f"{a['family-names']}, {a.get('given-names', '')}".rstrip(", "))
        for a in software.get("authors", []))
    entries = [_bibtex_entry("misc", "casekit", {
        "author": authors, "title": "{" + _bibtex_escape(software["title"]) + "}",
        "note": f"Version {software['version']}" if software.get("version") else "",
        "doi": str(software.get("doi", "")),
    })]
    facts = source.facts
    notes = []
    if "licence" in facts:
        notes.append(f"% The case data are under {facts['licence']}, the article's licence.")
    if source.missing:
        notes.append(f"% {_missing_note(source)}")
    if "title" in facts or "citation" in facts or "doi" in facts:
        ref = _reference_with_doi(software, facts["doi"]) if "doi" in facts else None
        if ref is not None:  # structured record for the same article
            key = f"{ref['authors'][0]['family-names']}{ref.get('year', '')}"
            pages = "--".join(str(ref[k]) for k in ("start", "end") if k in ref)
            fields = {
                "author": " and ".join(_bibtex_escape(
                    f"{a['family-names']}, {a.get('given-names', '')}") for a in ref["authors"]),
                "title": "{" + _bibtex_escape(facts.get("title", str(ref.get("title", "")))) + "}",
                "journal": _bibtex_escape(str(ref.get("journal", ""))),
                "year": str(ref.get("year", "")), "volume": str(ref.get("volume", "")),
                "number": str(ref.get("issue", "")), "pages": pages,
                "doi": _bibtex_doi(facts["doi"])}
            entries.append(_bibtex_entry("article", key, fields))
        else:  # only the facts: the free-text citation goes into the note
            key = "".join(ch for ch in source.case_dir.resolve().name if ch.isalnum()) or "case"
            entries.append(_bibtex_entry("misc", key, {
                "title": "{" + _bibtex_escape(facts.get("title", "")) + "}",
                "note": _bibtex_escape(facts.get("citation", "")),
                "doi": _bibtex_doi(facts.get("doi", ""))}))
    return "\n".join(notes + entries) + "\n"


def cite(case_dir: str | Path, fmt: str = "text",
         citation_file: str | Path = CITATION_FILE) -> str:
    """The citation text for ``case_dir`` in ``fmt`` (``text`` or ``bibtex``)."""
    renderers = {"text": cite_text, "bibtex": cite_bibtex}
    if fmt not in renderers:
        raise CiteError(f"unknown format {fmt!r}; choose one of {', '.join(renderers)}")
    software = read_software(citation_file)
    return renderers[fmt](read_case_source(case_dir), software)
