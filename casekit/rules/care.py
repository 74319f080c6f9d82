"""The CARE checklist for case reports, scored from a case folder.

CARE (CAse REport) is the reporting guideline for case reports: Gagnier JJ, Kienle G,
Altman DG, Moher D, Sox H, Riley D; the CARE Group. The CARE guidelines: consensus-based
clinical case reporting guideline development. J Clin Epidemiol 2014;67:46-51 (first
published 2013 in BMJ Case Reports, Glob Adv Health Med and others), and Riley DS,
Barber MS, Kienle GS, et al. CARE guidelines for case reports: explanation and elaboration
document. J Clin Epidemiol 2017;89:218-235. Its checklist has 13 items: title, key words,
abstract, introduction, patient information, clinical findings, timeline, diagnostic
assessment, therapeutic intervention, follow-up and outcomes, discussion, patient
perspective and informed consent.

CARE is written for the text of a report; nothing like it exists for structured case data.
:data:`ITEMS` is the mapping, as data: each item is split into the parts the checklist
asks for (Riley 2017, Table 1), and each part names where a case folder shows it (facts by
key, timeline categories and events, labs and lesions before and after the first
treatment, the sections of ``source.txt``). :func:`care_table` scores a case against it:

- a part is **found** when a row or a ``source.txt`` line shows it; rows that are all
  ``assumed`` (the paper does not state them), and evidence that only approaches the part
  (the trials a case cites for its introduction), count as **weak**;
- an item is **present** when every part is found, **missing** when no part has any
  evidence, and **partial** otherwise.

Each row gives its evidence as ``file:line`` and, unless present, what would complete it.
This says what the case *folder* shows; an item can be in the paper and missing here (the
seed's ``source.txt`` has no key words, so the seed lacks them). ``data/README.md`` has
the mapping as a table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from casekit.case import Case
from casekit.case.load import csv_records

PRESENT, PARTIAL, MISSING = "present", "partial", "missing"
CARE_COLUMNS = ["care_item", "topic", "verdict", "evidence", "to_complete"]
#: Timeline categories that are treatments (a biopsy is a ``procedure``: diagnostic).
TREATMENT_CATEGORIES = ("systemic", "locoregional")
SOURCE_FILE = "source.txt"
ASSUMED = "now assumed, not stated by the paper"
CITED_TRIALS = "now only the trials it cites (trials.csv)"


@dataclass(frozen=True)
class Look:
    """One place a case folder can show a part of an item.

    ``kind`` (with its ``args``):

    - ``fact``: facts with one of these keys; ``fact_key``: facts whose key matches the
      regular expression; ``fact_value``: the fact ``args[0]`` whose value matches ``args[1]``
    - ``category``: timeline events of these categories; ``event``: timeline events whose
      id or label matches the regular expression (``args[1]``, when given, limits them to
      those categories)
    - ``course``: a timeline of at least two events; ``treated_then_assessed``: a treatment
      event with an imaging, lab or outcome event after it
    - ``before_treatment`` / ``after_treatment``: labs and lesions (and reported responses,
      after) at events on or before / after the first treatment's day
    - ``heading``: a section heading of ``source.txt`` (whole line, optionally numbered)
      matching the regular expression; ``text``: any ``source.txt`` line matching it;
      ``abstract``: an unlabelled abstract (the text before the first section heading)
    - ``rows``: the file ``args[0]`` of the case folder has rows

    ``weak``: why the look only approaches the part (found, it makes the item partial at
    most); empty for a look that shows the part.
    """

    kind: str
    args: tuple[str, ...] = ()
    weak: str = ""


@dataclass(frozen=True)
class Part:
    """What one part of a CARE item asks (shortened), where it is looked for, and what a
    case lacking it should add."""

    asks: str
    looks: tuple[Look, ...]
    complete: str


@dataclass(frozen=True)
class Item:
    number: int
    topic: str
    parts: tuple[Part, ...]


# Section headings of a case report's text (Riley 2017, Table 1, and the usual variants).
_SECTIONS = {
    "abstract": r"abstract|summary",
    "introduction": r"introduction|background",
    "case": r"case (?:report|presentation|description)|presenting concerns",
    "clinical_findings": r"clinical findings|physical examination|examination",
    "diagnosis": r"diagnos[a-z]*(?: (?:and|&) [a-z ]+)?|diagnostic assessment|investigations?"
                 r"|(?:imaging|laboratory) findings",
    "treatment": r"(?:[a-z]+ (?:and|&) )?(?:treatment|therapy|therapeutic interventions?"
                 r"|interventions?|management)(?: (?:and|&) [a-z ]+)?",
    "follow_up": r"follow-?up(?: and outcomes?)?|outcomes?(?: and follow-?up)?|clinical course",
    "discussion": r"discussion|conclusions?",
    "perspective": r"patient(?:'s|s'|s)? perspective",
}
_CONSENT = r"\bconsent"

#: The CARE checklist (Gagnier 2013; Riley 2017, Table 1) mapped to a case folder.
ITEMS: tuple[Item, ...] = (
    Item(1, "Title", (
        Part("the title", (Look("fact", ("title",)),),
             "a title fact quoting the paper's title"),
        Part("the words 'case report' in the title",
             (Look("fact_value", ("title", r"(?i)\bcase reports?\b")),),
             "CARE asks for the words 'case report' in the title, after the focus of the "
             "case"),
    )),
    Item(2, "Key words", (
        Part("2 to 5 key words", (Look("fact", ("keywords",)),
                                  Look("text", (r"(?i)^\s*key\s?words?\b",))),
             "a keywords fact: the paper's 2-5 key words separated by ';' (or source.txt "
             "with its key-words line)"),
    )),
    Item(3, "Abstract", (
        Part("an abstract (what is unique, findings, diagnoses, interventions, outcomes, "
             "lessons)", (Look("heading", (_SECTIONS["abstract"],)), Look("abstract")),
             "source.txt with the paper's text, abstract included"),
    )),
    Item(4, "Introduction", (
        Part("why the case is unique, with references",
             (Look("heading", (_SECTIONS["introduction"],)),
              Look("rows", ("trials.csv",), weak=CITED_TRIALS)),
             "source.txt with the paper's Introduction (or Background) section"),
    )),
    Item(5, "Patient information", (
        Part("de-identified demographics", (Look("fact", ("age_years", "sex", "ethnicity",
                                                          "occupation")),),
             "age_years and sex facts"),
        Part("main symptoms (presenting concerns)",
             (Look("fact", ("symptoms", "presenting_symptoms", "chief_complaint")),
              Look("event", (r"(?i)present(?:ation|ed|ing)|symptom|complain",))),
             "the presenting symptoms: a presentation timeline event or a symptoms fact"),
        Part("medical, family and psychosocial history",
             (Look("fact", ("aetiology", "etiology", "medical_history", "comorbidities",
                            "family_history", "psychosocial_history", "cirrhosis",
                            "alcohol", "smoking", "smoking_pack_years", "prior_treatment")),),
             "the history as facts (e.g. aetiology, comorbidities, family_history, "
             "smoking_pack_years)"),
    )),
    Item(6, "Clinical findings", (
        Part("physical examination and important clinical findings",
             (Look("fact", ("physical_examination", "clinical_findings", "ecog",
                            "performance_status", "karnofsky", "ascites", "encephalopathy",
                            "weight_kg", "bmi")),
              Look("heading", (_SECTIONS["clinical_findings"],))),
             "the examination findings as facts (e.g. ecog, ascites), quoted from the "
             "paper"),
    )),
    Item(7, "Timeline", (
        Part("the episode of care as dated events", (Look("course"),),
             "at least two timeline events, with the intervals the paper states "
             "marked reported"),
        Part("interventions and the assessments after them", (Look("treated_then_assessed"),),
             "a treatment event (systemic or locoregional) and an imaging, lab or outcome "
             "event after it"),
    )),
    Item(8, "Diagnostic assessment", (
        Part("the diagnosis", (Look("fact", ("cancer", "histology", "diagnosis")),
                               Look("category", ("diagnosis",)),
                               Look("heading", (_SECTIONS["diagnosis"],))),
             "cancer and histology facts, or a diagnosis timeline event"),
        Part("diagnostic methods (imaging, laboratory tests, biopsy)",
             (Look("before_treatment"),
              Look("event", (r"(?i)biops|patholog|histolog|cytolog",), )),
             "the baseline imaging and laboratory results: lesions.csv and labs.csv rows at "
             "events before the first treatment"),
        Part("prognostic characteristics (stage)", (Look("fact_key", (r"(?:^|_)stage",)),),
             "the stage as facts (e.g. t_stage, n_stage, m_stage, or the stage the "
             "paper reports)"),
    )),
    Item(9, "Therapeutic intervention", (
        Part("the types of intervention", (Look("category", TREATMENT_CATEGORIES),),
             "the treatments as systemic or locoregional timeline events"),
        Part("administration (dose, strength, schedule, duration)",
             (Look("fact_key", (r"dose|_mg(?:_|$)|_gbq|_gy$|cycles|schedule|regimen",)),
              Look("event", (r"(?i)\d\s*(?:mg|g|gbq|gy|mg/kg|mg/m2|iu)\b",
                             *TREATMENT_CATEGORIES))),
             "the doses and schedule as facts (e.g. <drug>_dose_mg, cycles_total) or in "
             "the treatment events' labels"),
    )),
    Item(10, "Follow-up and outcomes", (
        Part("follow-up tests and assessments", (Look("after_treatment"),),
             "lesions, labs or reported responses at events after the first treatment"),
        Part("the outcome", (Look("category", ("outcome",)),
                             Look("fact", ("outcome", "vital_status", "survival"))),
             "an outcome timeline event or fact: the patient's state at last follow-up"),
        Part("tolerability and adverse events",
             (Look("category", ("adverse_event",)),
              Look("fact_key", (r"adverse|toxicit|ctcae|tolerab",))),
             "adverse events as adverse_event timeline events, or a fact saying there were "
             "none (e.g. other_adverse_events)"),
    )),
    Item(11, "Discussion", (
        Part("strengths and limitations, the literature, conclusions",
             (Look("heading", (_SECTIONS["discussion"],)),
              Look("rows", ("trials.csv",), weak=CITED_TRIALS)),
             "source.txt with the paper's Discussion"),
    )),
    Item(12, "Patient perspective", (
        Part("the patient's perspective", (Look("fact", ("patient_perspective",)),
                                           Look("heading", (_SECTIONS["perspective"],)),
                                           Look("text", (r"(?i)" + _SECTIONS["perspective"],))),
             "the patient's perspective when the paper gives one (a patient_perspective "
             "fact, or source.txt); CARE asks for it whenever possible"),
    )),
    Item(13, "Informed consent", (
        Part("informed consent", (Look("fact", ("informed_consent", "consent")),
                                  Look("text", (r"(?i)" + _CONSENT,))),
             "an informed_consent fact quoting the paper's consent statement (or that it "
             "was waived)"),
    )),
)


# ------------------------------------------------------------------ evidence


@dataclass(frozen=True)
class _Evidence:
    text: str
    weak: str  # why it only approaches the part; "" when it shows it


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


def _file_rows(folder: Path, name: str) -> list[_Row]:
    """The records of a case file with the physical line each starts on (header aside)."""
    path = folder / name
    if not path.is_file():
        return []
    found = list(csv_records(path.read_bytes().decode("utf-8-sig")))
    if not found:
        return []
    header = [h.strip() for h in found[0][1]]
    return [_Row(line, dict(zip(header, record))) for line, record in found[1:]]


def _lines(lines: list[int]) -> str:
    """``[2, 3, 4, 9]`` -> ``2-4,9``."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive lines
    for line in sorted(set(lines)):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _names(names: list[str], most: int = 4) -> str:
    names = list(dict.fromkeys(names))
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most
                                      else "")


def _rows_evidence(file: str, rows: list[_Row], what: list[str], provenance: bool = True
                   ) -> list[_Evidence]:
    """One piece of evidence for ``rows`` of a case file; weak when every row is assumed
    (``provenance`` False: the status says something else, as a timeline row's says how
    its timing is known, not whether the event happened)."""
    if not rows:
        return []
    assumed = provenance and all(r.values.get("status") == "assumed" for r in rows)
    note = _names(what) + ("; assumed" if assumed else "")
    return [_Evidence(f"{file}:{_lines([r.line for r in rows])} ({note})",
                      ASSUMED if assumed else "")]


class _Folder:
    """A loaded case with the line of every row, and its source.txt."""

    def __init__(self, case: Case):
        folder = Path(case.path)
        self.case = case
        self.facts = [r for r in _file_rows(folder, "facts.csv") if r.values.get("value", "")]
        self.timeline = _file_rows(folder, "timeline.csv")
        self.results = {name: _file_rows(folder, name)
                        for name in ("labs.csv", "lesions.csv", "responses.csv")}
        self.trials = _file_rows(folder, "trials.csv")
        self.day = dict(zip(case.timeline["event_id"], case.timeline["day"].astype(int)))
        treat = case.timeline[case.timeline["category"].isin(TREATMENT_CATEGORIES)]
        self.first_treatment = int(treat["day"].min()) if len(treat) else None
        self.source = (case.source_text if case.source_text is not None else
                       _read_source(folder))
        self.source_lines = self.source.splitlines() if self.source is not None else []

    # -------------------------------------------------------------- looks

    def look(self, look: Look) -> list[_Evidence]:
        found = getattr(self, f"_{look.kind}")(*look.args)
        return [_Evidence(e.text, look.weak or e.weak) for e in found]

    def _fact(self, *keys: str) -> list[_Evidence]:
        rows = [r for r in self.facts if r.values["key"] in keys]
        return _rows_evidence("facts.csv", rows, [r.values["key"] for r in rows])

    def _fact_key(self, pattern: str) -> list[_Evidence]:
        rows = [r for r in self.facts if re.search(pattern, r.values["key"])]
        return _rows_evidence("facts.csv", rows, [r.values["key"] for r in rows])

    def _fact_value(self, key: str, pattern: str) -> list[_Evidence]:
        rows = [r for r in self.facts if r.values["key"] == key
                and re.search(pattern, r.values["value"])]
        return _rows_evidence("facts.csv", rows, [key])

    def _events(self, rows: list[_Row], what: str) -> list[_Evidence]:
        return _rows_evidence("timeline.csv", rows,
                              [f"{what}: " + _names([r.values["event_id"] for r in rows])],
                              provenance=False)

    def _category(self, *categories: str) -> list[_Evidence]:
        found: list[_Evidence] = []
        for category in categories:
            rows = [r for r in self.timeline if r.values.get("category") == category]
            found += self._events(rows, category)
        return found

    def _event(self, pattern: str, *categories: str) -> list[_Evidence]:
        rows = [r for r in self.timeline
                if (not categories or r.values.get("category") in categories)
                and (re.search(pattern, r.values.get("event_id", ""))
                     or re.search(pattern, r.values.get("label", "")))]
        return self._events(rows, "events")

    def _course(self) -> list[_Evidence]:
        if len(self.timeline) < 2:
            return []
        # a root's day is its own; the timings that make a timeline are the intervals
        timed = [r for r in self.timeline if r.values.get("anchor")]
        assumed = all(r.values.get("status") == "assumed" for r in timed)
        cats = _names([r.values["category"] for r in self.timeline], most=9)
        note = (f"{len(self.timeline)} events: {cats}"
                + ("; every interval assumed" if assumed else ""))
        lines = _lines([r.line for r in self.timeline])
        return [_Evidence(f"timeline.csv:{lines} ({note})", ASSUMED if assumed else "")]

    def _treated_then_assessed(self) -> list[_Evidence]:
        if self.first_treatment is None:
            return []
        later = [r for r in self.timeline
                 if r.values.get("category") in ("imaging", "lab", "outcome")
                 and self.day.get(r.values.get("event_id"), -1 << 62) > self.first_treatment]
        first = [r for r in self.timeline if r.values.get("category") in TREATMENT_CATEGORIES
                 and self.day.get(r.values.get("event_id")) == self.first_treatment][:1]
        if not later:
            return []
        return self._events(first + later, "treatment, then")

    def _results(self, after: bool) -> list[_Evidence]:
        """Labs, lesions (and, after, reported responses) at events after the first
        treatment's day (``after``) or on or before it; with no treatment, all are before."""
        def chosen(event_id: str) -> bool:
            day = self.day.get(event_id)
            if day is None or self.first_treatment is None:
                return day is not None and not after
            return (day > self.first_treatment) == after

        found: list[_Evidence] = []
        for name, rows in self.results.items():
            if not after and name == "responses.csv":
                continue  # a reported response assesses a treatment
            picked = [r for r in rows if chosen(r.values.get("event_id", ""))]
            found += _rows_evidence(name, picked, [r.values["event_id"] for r in picked])
        return found

    def _before_treatment(self) -> list[_Evidence]:
        return self._results(after=False)

    def _after_treatment(self) -> list[_Evidence]:
        return self._results(after=True)

    def _heading_lines(self, pattern: str) -> list[tuple[int, str]]:
        """(line, text) of the source.txt headings matching ``pattern``: a whole line,
        optionally numbered (``1. Clinical findings``) or ending in a colon."""
        heading = re.compile(r"\s*(?:\d+(?:\.\d+)*\.?\s+)?(?:" + pattern + r")\s*:?\s*",
                             re.IGNORECASE)
        return [(i + 1, line.strip()) for i, line in enumerate(self.source_lines)
                if heading.fullmatch(line)]

    def _heading(self, pattern: str) -> list[_Evidence]:
        return [_Evidence(f"{SOURCE_FILE}:{n} (section '{text}')", "")
                for n, text in self._heading_lines(pattern)]

    def _text(self, pattern: str) -> list[_Evidence]:
        hits = [i + 1 for i, line in enumerate(self.source_lines) if re.search(pattern, line)]
        return [_Evidence(f"{SOURCE_FILE}:{_lines(hits)}", "")] if hits else []

    def _abstract(self) -> list[_Evidence]:
        """The text between the first line (the citation or title) and the first section
        heading: the abstract as journals print it, often without a heading of its own."""
        headings = self._heading_lines("|".join(_SECTIONS.values()))
        if not headings:
            return []
        end = headings[0][0]
        body = [i for i in range(2, end) if self.source_lines[i - 1].strip()]
        if len(body) < 2:
            return []
        return [_Evidence(f"{SOURCE_FILE}:{body[0]}-{body[-1]} (the text before the first "
                          f"section, an unlabelled abstract)", "")]

    def _rows(self, name: str) -> list[_Evidence]:
        rows = self.trials if name == "trials.csv" else _file_rows(Path(self.case.path), name)
        if not rows:
            return []
        return [_Evidence(f"{name}:{_lines([r.line for r in rows])} ({len(rows)} "
                          f"row{'s' if len(rows) != 1 else ''})", "")]


def _read_source(folder: Path) -> str | None:
    path = folder / SOURCE_FILE
    return path.read_text(encoding="utf-8-sig") if path.is_file() else None


def score_item(folder: _Folder, item: Item) -> dict[str, object]:
    """One row of the CARE table: the item's verdict, evidence and what would complete it."""
    evidence: list[str] = []
    states: list[str] = []  # per part: found, weak or none
    to_complete: list[str] = []
    for part in item.parts:
        found = [e for look in part.looks for e in folder.look(look)]
        evidence += [e.text for e in found if e.text not in evidence]
        state = ("found" if any(not e.weak for e in found) else "weak" if found else "none")
        states.append(state)
        if state != "found":
            why = "; ".join(dict.fromkeys(e.weak for e in found))
            to_complete.append(part.complete + (f" ({why})" if why else ""))
    verdict = (PRESENT if all(s == "found" for s in states) else
               MISSING if all(s == "none" for s in states) else PARTIAL)
    return {"care_item": item.number, "topic": item.topic, "verdict": verdict,
            "evidence": "; ".join(evidence), "to_complete": "; ".join(to_complete)}


def care_table(case: Case) -> pd.DataFrame:
    """The case scored against the 13 CARE items (Gagnier 2013; Riley 2017): one row per
    item with ``care_item``, ``topic``, ``verdict`` (present, partial, missing),
    ``evidence`` (``file:line (what)``, ``; ``-separated) and ``to_complete``."""
    folder = _Folder(case)
    return pd.DataFrame([score_item(folder, item) for item in ITEMS], columns=CARE_COLUMNS)


def care_summary(table: pd.DataFrame) -> str:
    """``11 of 13 CARE items present, 0 partial, 2 missing``."""
    counts = table["verdict"].value_counts()
    return (f"{counts.get(PRESENT, 0)} of {len(table)} CARE items present, "
            f"{counts.get(PARTIAL, 0)} partial, {counts.get(MISSING, 0)} missing")
