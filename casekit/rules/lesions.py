"""Lesion bookkeeping shared by RECIST 1.1, mRECIST and iRECIST.

From the validated lesions frame this module derives, once per criteria, the
baseline plan (which lesions are targets, by which measure, which are
non-targets, which nodes are not disease at baseline) and, at every follow-up
event, the three components every criteria combines: the target values, the
non-target state and the new-lesion state. The criteria modules
(:mod:`casekit.rules.response` for RECIST 1.1 / mRECIST,
:mod:`casekit.rules.irecist`) turn these into calls.

References
----------
- Eisenhauer EA, et al. RECIST 1.1. Eur J Cancer 2009;45:228-247 (below "E2009").
- Schwartz LH, et al. RECIST 1.1 - Update and clarification: from the RECIST
  committee. Eur J Cancer 2016;62:132-137, and the EORTC RECIST FAQ
  (recist.eortc.org/faq, "New lymph node lesions", "Abnormal lymph node",
  "Does a new lesion always result in PD?", "Lesions less than 5 mm",
  "Two target lesions" - nodes are one organ).
- Lencioni R, Llovet JM. mRECIST for HCC. Semin Liver Dis 2010;30:52-60
  ("L&L 2010"): viable (enhancing) diameter; portal vein thrombus
  non-measurable; porta hepatis node malignant at short axis >= 2 cm; a new
  intrahepatic lesion is HCC when >= 1 cm with the typical vascular pattern,
  or when it shows >= 1 cm interval growth.

Sizes are integers in tenths of a millimetre (1 cm = 100) so that every
boundary is decided exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PER_CM = 100  # tenths of a millimetre per centimetre

#: RECIST 1.1 §3.1.1 (measurable: longest diameter >= 10 mm; node short axis
#: >= 15 mm), §3.1.2 (node 10-15 mm pathological non-measurable, < 10 mm normal).
MEASURABLE_CM = 1.0
NODE_MEASURABLE_CM = 1.5
NORMAL_NODE_CM = 1.0
#: L&L 2010: a porta hepatis node is malignant (and, as a target, measurable)
#: at a short axis >= 2 cm; below that it is not disease under mRECIST.
PORTA_HEPATIS_NODE_CM = 2.0
#: L&L 2010: new intrahepatic lesion size, and interval growth, of 1 cm.
MRECIST_NEW_LESION_CM = 1.0
#: E2009 §4.3.1 note; EORTC FAQ "Lesions less than 5 mm": a target present but
#: too small to measure is recorded as 5 mm.
TOO_SMALL_DEFAULT_CM = 0.5

#: Words in a node's ``site`` that place it at the porta hepatis (hepatic hilum,
#: hepatoduodenal ligament), where L&L 2010's 2 cm rule applies under mRECIST.
#: Deliberately anatomical: nodes along the common hepatic artery (station 8),
#: coeliac or para-aortic nodes are not listed; a case marks such a node as
#: porta hepatis explicitly with the fact ``porta_hepatis_nodes`` (data/README.md).
PORTA_HEPATIS_SITES = (
    "porta hepatis", "hepatic hilum", "hepatic hilar", "liver hilum", "hilum of the liver",
    "hepatoduodenal", "periportal", "portocaval", "portacaval", "proper hepatic artery",
    "pericholedochal", "common bile duct", "cystic duct",
)
_PORTA = re.compile("|".join(re.escape(w) for w in PORTA_HEPATIS_SITES), re.IGNORECASE)
#: Sites read as intrahepatic (for L&L 2010's new-lesion rule); a site that also
#: names the lung is not.
_LIVER = re.compile(r"liver|hepatic|\blobe\b|\bsegment\b", re.IGNORECASE)
_NOT_LIVER = re.compile(r"lung|pulmonary|thyroid|brain", re.IGNORECASE)

#: Organs for the "2 targets per organ" rule (E2009 §4.2), first match wins;
#: lymph nodes are one organ (EORTC FAQ "Two target lesions"); a site that
#: matches none is its own organ.
ORGANS = (
    ("lung", r"lung|pulmonary"),
    ("liver", r"liver|hepatic|\blobe\b|\bsegment\b"),
    ("bone", r"bone|vertebra|rib\b|pelvi|femur|sacrum"),
    ("brain", r"brain|cerebr"),
    ("adrenal", r"adrenal"),
    ("kidney", r"kidney|renal"),
    ("spleen", r"spleen|splenic"),
    ("pancreas", r"pancrea"),
    ("peritoneum", r"periton|omentum|omental"),
    ("pleura", r"pleura"),
    ("skin", r"skin|cutaneous|subcutaneous"),
)


def tenths(size_cm: float) -> int:
    return int(round(float(size_cm) * PER_CM))


def cm(value) -> float:
    return np.nan if value is None else round(value / PER_CM, 2)


def organ(kind: str, site: str) -> str:
    if kind == "lymph_node":
        return "lymph nodes"
    for name, pattern in ORGANS:
        if re.search(pattern, site or "", re.IGNORECASE):
            return name
    return (site or "unknown").strip().lower()


def is_intrahepatic(kind: str, site: str) -> bool:
    return kind == "tumour" and bool(_LIVER.search(site or "")) and not _NOT_LIVER.search(site or "")


def porta_hepatis_nodes(lesions: pd.DataFrame, marked=None) -> set[str]:
    """Lesion ids of lymph nodes at the porta hepatis: a ``site`` naming one of
    PORTA_HEPATIS_SITES, plus the ids in ``marked`` (a collection, or the text
    of the fact ``porta_hepatis_nodes``: ids separated by ``;``)."""
    if isinstance(marked, str):
        marked = [m.strip() for m in marked.split(";") if m.strip()]
    nodes = lesions[lesions["kind"].astype(str) == "lymph_node"]
    found = {str(i) for i, site in zip(nodes["lesion_id"], nodes["site"].fillna("").astype(str))
             if _PORTA.search(site)}
    return found | {str(m) for m in (marked or ())}


# --------------------------------------------------------------------------
# Readings
# --------------------------------------------------------------------------
@dataclass
class Reading:
    """What was recorded for one lesion at one event."""

    sizes: dict = field(default_factory=dict)  # measure -> tenths of a mm
    assessments: set = field(default_factory=set)

    @property
    def absent(self) -> bool:
        return "absent" in self.assessments

    @property
    def assessed(self) -> bool:
        return bool(self.assessments) or bool(self.sizes)

    def size(self, measure: str):
        """Tenths of a mm; an absent lesion measures 0; None when not measured."""
        return 0 if self.absent else self.sizes.get(measure)

    def any_size(self):
        """The largest recorded size, whatever its measure (new lesions)."""
        return 0 if self.absent else (max(self.sizes.values()) if self.sizes else None)

    def gone(self, node: "NodeRule | None" = None) -> bool:
        """Has this non-target lesion resolved (E2009 §4.3.3 non-target CR: "disappearance
        of all non-target lesions", all nodes "non-pathological (< 10 mm short axis)")?

        Recorded absent; or, when it was measured (a target demoted at baseline keeps
        its measurements), a non-nodal lesion measured 0 in every recorded measure, or a
        node (``node`` its rule) whose short axis is below the normal limit. A node is
        judged by its short axis only: a node measured otherwise resolves only when
        recorded absent."""
        if self.absent:
            return True
        if "unequivocal_progression" in self.assessments:
            return False
        if node is not None:
            # §4.3.3: a node "present" but < 10 mm short axis is non-pathological, so the
            # measured short axis decides, whatever else the reader recorded.
            short_axis = self.sizes.get("short_axis")
            return short_axis is not None and short_axis < node.normal_below
        if "present" in self.assessments:
            return False
        return bool(self.sizes) and not any(self.sizes.values())

    def seen(self, node: "NodeRule | None" = None) -> bool:
        """Unequivocally there: recorded present (or progressing), or measured and not
        :meth:`gone` (a "suspected" reading alone is not, E2009 §4.3.5). Size alone
        never makes non-target progression (§4.3.3 needs it unequivocal): this only
        says the lesion is there."""
        if self.assessments & {"present", "unequivocal_progression"}:
            return True
        return bool(self.sizes) and not self.gone(node)


def clean(lesions: pd.DataFrame) -> pd.DataFrame:
    """Lesion rows with empty text instead of missing values, in day order."""
    out = lesions.copy()
    if "site" not in out.columns:
        out["site"] = ""
    for column in ("event_id", "lesion_id", "kind", "role", "measure", "assessment", "site"):
        out[column] = out[column].fillna("").astype(str)
    out["size_cm"] = pd.to_numeric(out["size_cm"], errors="coerce")
    out["day"] = out["day"].astype(int)
    return out.sort_values("day", kind="stable").reset_index(drop=True)


def events(lesions: pd.DataFrame) -> list[tuple[str, int]]:
    """(event_id, day) in day order; the first one is the baseline."""
    days = lesions.groupby("event_id", sort=False)["day"].min()
    return sorted(days.items(), key=lambda item: (item[1], item[0]))


def readings(lesions: pd.DataFrame) -> dict[tuple[str, str], Reading]:
    out: dict[tuple[str, str], Reading] = {}
    for row in lesions.itertuples(index=False):
        reading = out.setdefault((row.event_id, row.lesion_id), Reading())
        if row.measure and pd.notna(row.size_cm):
            reading.sizes[row.measure] = tenths(row.size_cm)
        if row.assessment:
            reading.assessments.add(row.assessment)
    return out


def preferred_measure(kind: str, criteria: str) -> str:
    """E2009 §4.2: nodes by short axis, others by longest diameter; mRECIST:
    non-nodal tumour by its viable (arterially enhancing) diameter (L&L 2010)."""
    if kind == "lymph_node":
        return "short_axis"
    if criteria == "mRECIST" and kind == "tumour":
        return "viable"
    return "longest"


# --------------------------------------------------------------------------
# Baseline plan
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeRule:
    """Short-axis limits (tenths of a mm) for one node under one criteria."""

    normal_below: int  # below this the node is not disease (E2009 §3.1.2; L&L 2010)
    measurable_at: int  # a target needs at least this (E2009 §3.1.1; L&L 2010)
    new_at: int  # a node that was not disease is a new lesion from here
    equivocal_from: int | None  # new-node sizes that must grow first (EORTC FAQ)
    source: str


def node_rule(criteria: str, porta_hepatis: bool, node_threshold_cm=None) -> NodeRule:
    """RECIST 1.1 node limits, or L&L 2010's 2 cm for a porta hepatis node
    under mRECIST. ``node_threshold_cm`` overrides the measurable / new limit."""
    if criteria == "mRECIST" and porta_hepatis:
        limit = tenths(node_threshold_cm or PORTA_HEPATIS_NODE_CM)
        return NodeRule(limit, limit, limit, None, "porta hepatis node, L&L 2010")
    limit = tenths(node_threshold_cm or NODE_MEASURABLE_CM)
    normal = tenths(NORMAL_NODE_CM)
    return NodeRule(normal, limit, limit, normal, "RECIST 1.1 §3.1.2")


@dataclass
class Plan:
    criteria: str
    baseline_id: str = ""
    targets: dict = field(default_factory=dict)  # lesion_id -> measure
    nodal: dict = field(default_factory=dict)  # lesion_id -> NodeRule (every node)
    non_targets: list = field(default_factory=list)
    normal_nodes: dict = field(default_factory=dict)  # not disease at baseline: id -> size
    proxy_notes: dict = field(default_factory=dict)
    baseline_notes: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)
    sites: dict = field(default_factory=dict)


def _target_measure(lesion_id, kind, criteria, found, event_ids, tumour_measure):
    """Measure a target is summed by, and a note when it is a substitute.

    One choice per lesion for all events: if the preferred measure is missing
    where the lesion is present, the longest diameter is used throughout, so no
    sum mixes viable and whole diameters. Nodes never get a long-axis proxy.
    """
    if kind == "lymph_node":
        return "short_axis", None
    preferred = tumour_measure or preferred_measure(kind, criteria)
    missing = [e for e in event_ids
               if (e, lesion_id) in found and not found[(e, lesion_id)].absent
               and found[(e, lesion_id)].sizes and preferred not in found[(e, lesion_id)].sizes]
    if not missing or preferred == "longest":
        return preferred, None
    return "longest", (
        f"{criteria}: {lesion_id} summed by longest diameter at every assessment "
        f"as a proxy for the {preferred} diameter (not reported at {', '.join(missing)})")


def _ineligible(lesion_id, kind, criteria, reading, measure, rule):
    """Why a lesion recorded as target cannot be one (E2009 §3.1, §4.2; L&L 2010)."""
    if criteria == "mRECIST" and kind == "vascular_invasion":
        return f"{lesion_id}: tumour thrombus is non-target under mRECIST (L&L 2010)"
    size = reading.size(measure)
    if kind == "lymph_node":
        if size is None:
            return (f"{lesion_id}: no short axis at baseline, so it cannot qualify as a "
                    f"nodal target under {criteria}; treated as non-target")
        if size < rule.measurable_at:
            return (f"{lesion_id}: short axis {cm(size)} cm < {cm(rule.measurable_at)} cm at "
                    f"baseline, not a measurable nodal target under {criteria} ({rule.source}); "
                    f"treated as non-target")
        return None
    if size is None:
        return f"{lesion_id}: not measured at baseline; treated as non-target"
    if size < tenths(MEASURABLE_CM):
        return (f"{lesion_id}: {measure} diameter {cm(size)} cm < {MEASURABLE_CM:g} cm at baseline "
                f"is not measurable (RECIST 1.1 §3.1.1); treated as non-target")
    return None


def _limit_targets(plan, found, baseline_id, max_targets, max_per_organ):
    """E2009 §4.2: at most ``max_targets`` targets, ``max_per_organ`` per organ.
    When the data name more, the largest (by their summed measure) are kept,
    organ by organ and then overall, and the note says which were used."""
    size = {lid: found[(baseline_id, lid)].size(m) or 0 for lid, m in plan.targets.items()}
    ranked = sorted(plan.targets, key=lambda lid: (-size[lid], list(plan.targets).index(lid)))
    kept, per_organ = [], {}
    for lid in ranked:
        o = organ(plan.kinds[lid], plan.sites[lid])
        if per_organ.get(o, 0) < max_per_organ and len(kept) < max_targets:
            kept.append(lid)
            per_organ[o] = per_organ.get(o, 0) + 1
    dropped = [lid for lid in plan.targets if lid not in kept]
    if dropped:
        plan.baseline_notes.append(
            f"{len(plan.targets)} targets recorded, more than RECIST 1.1 §4.2 allows "
            f"({max_targets} in all, {max_per_organ} per organ): used {', '.join(l for l in plan.targets if l in kept)}; "
            f"{', '.join(dropped)} treated as non-target")
        for lid in dropped:
            del plan.targets[lid]
            plan.proxy_notes.pop(lid, None)
            plan.non_targets.append(lid)


def make_plan(lesions, found, evts, criteria, *, porta_hepatis=frozenset(), node_threshold_cm=None,
              tumour_measure=None, max_targets=5, max_targets_per_organ=2) -> Plan:
    """Baseline targets / non-targets / not-disease nodes under ``criteria``."""
    rule_criteria = "RECIST1.1" if criteria == "iRECIST" else criteria
    baseline_id = evts[0][0]
    plan = Plan(criteria=criteria, baseline_id=baseline_id)
    event_ids = [e for e, _ in evts]
    firsts = lesions.groupby("lesion_id", sort=False)[["kind", "site"]].first()
    plan.kinds = firsts["kind"].to_dict()
    plan.sites = firsts["site"].to_dict()
    for lesion_id, kind in plan.kinds.items():
        if kind == "lymph_node":
            plan.nodal[lesion_id] = node_rule(rule_criteria, lesion_id in porta_hepatis,
                                              node_threshold_cm)
    baseline = lesions[lesions["event_id"] == baseline_id]
    for lesion_id, role in baseline.groupby("lesion_id", sort=False)["role"].first().items():
        kind = plan.kinds[lesion_id]
        reading = found[(baseline_id, lesion_id)]
        if role == "new":
            plan.baseline_notes.append(f"{lesion_id}: role 'new' at baseline ignored")
            continue
        if kind == "lymph_node":
            rule = plan.nodal[lesion_id]
            short_axis = reading.size("short_axis")
            if short_axis is not None and short_axis < rule.normal_below:
                # Not disease at baseline: it can only become a new lesion later.
                plan.normal_nodes[lesion_id] = short_axis
                plan.baseline_notes.append(
                    f"{lesion_id}: short axis {cm(short_axis)} cm < {cm(rule.normal_below)} cm at "
                    f"baseline is not disease under {criteria} ({rule.source}); followed as a "
                    f"possible new lesion")
                continue
        if role != "target":
            plan.non_targets.append(lesion_id)
            continue
        measure, proxy_note = _target_measure(lesion_id, kind, rule_criteria, found, event_ids,
                                              tumour_measure)
        reason = _ineligible(lesion_id, kind, rule_criteria, reading, measure,
                             plan.nodal.get(lesion_id))
        if reason:
            plan.non_targets.append(lesion_id)
            plan.baseline_notes.append(reason)
            continue
        plan.targets[lesion_id] = measure
        if proxy_note:
            plan.proxy_notes[lesion_id] = proxy_note
    _limit_targets(plan, found, baseline_id, max_targets, max_targets_per_organ)
    return plan


# --------------------------------------------------------------------------
# Components at one follow-up event
# --------------------------------------------------------------------------
def target_values(plan, found, event_id) -> tuple[dict, list]:
    """Tenths of a mm per target (None when not assessed) and notes. A target
    assessed present without a size is "too small to measure": 5 mm."""
    values, notes = {}, []
    for lesion_id, measure in plan.targets.items():
        reading = found.get((event_id, lesion_id))
        value = reading.size(measure) if reading else None
        if value is None and reading is not None and "present" in reading.assessments:
            value = tenths(TOO_SMALL_DEFAULT_CM)
            notes.append(f"{lesion_id} present but not measured: {TOO_SMALL_DEFAULT_CM * 10:g} mm "
                         f"default (RECIST 1.1 §4.3.1 note)")
        values[lesion_id] = value
    return values, notes


def non_target_state(plan, found, event_id) -> tuple[str, list]:
    """E2009 §4.3.3: PD on unequivocal progression of any non-target; NE if one
    was not assessed; CR when all are gone (:meth:`Reading.gone`: absent, a
    measured non-nodal lesion at 0, nodes below their normal limit); else
    non-CR/non-PD (a measured lesion > 0 is present, never PD by size alone);
    NA without non-target disease. A non-target node that
    grows stays a non-target (never a new lesion, rule of §4.3.5 / EORTC FAQ):
    it is PD only when the reader calls the growth unequivocal."""
    if not plan.non_targets:
        return "NA", []
    found_now = [found.get((event_id, lid), Reading()) for lid in plan.non_targets]
    notes = []
    for lid, reading in zip(plan.non_targets, found_now):
        rule = plan.nodal.get(lid)
        now = reading.size("short_axis") if rule else None
        if rule and now is not None and "unequivocal_progression" not in reading.assessments:
            first = _baseline_size(found, plan, lid)
            if first is not None and now > first and now >= rule.measurable_at:
                notes.append(f"{lid}: non-target node {cm(first)} -> {cm(now)} cm; non-target "
                             f"progression only if unequivocal (RECIST 1.1 §4.3.3), recorded "
                             f"'{'/'.join(sorted(reading.assessments)) or 'measured'}'")
    if any("unequivocal_progression" in r.assessments for r in found_now):
        return "PD", notes
    if not all(r.assessed for r in found_now):
        return "NE", notes

    if all(r.gone(plan.nodal.get(lid)) for lid, r in zip(plan.non_targets, found_now)):
        return "CR", notes
    return "non-CR/non-PD", notes


def _baseline_size(found, plan, lesion_id):
    reading = found.get((plan.baseline_id, lesion_id))
    return reading.size("short_axis") if reading else None


@dataclass
class NewLesion:
    """A lesion that was not disease at baseline, at one event."""

    lesion_id: str
    status: str  # "counted" or "equivocal"
    size: int | None
    why: str


def new_lesion_states(plan, found, evts, new_ids, *, criteria) -> list[dict]:
    """Per follow-up event: lesion_id -> NewLesion, for role-``new`` lesions
    and for nodes that were not disease at baseline.

    - RECIST 1.1 §4.3.5: a new lesion must be unequivocal (assessment
      ``present`` / ``unequivocal_progression``); ``suspected`` is equivocal.
    - Nodes (EORTC FAQ "New lymph node lesions"): a node normal at baseline is
      new at a short axis >= 15 mm; at 10-15 mm it is equivocal until it grows at
      a later scan. Under mRECIST a porta hepatis node is new at >= 2 cm (L&L 2010).
    - mRECIST intrahepatic lesion (L&L 2010): counted when assessed present
      (the reader's "typical vascular pattern") and >= 1 cm; smaller or
      unmeasured ones are equivocal until >= 1 cm interval growth.
    - An equivocal lesion is confirmed when a later scan shows it counted; the
      confirmation is applied by the caller (back-dating, E2009 §4.3.5).
    """
    out = []
    first_size: dict[str, int] = {}
    last_size: dict[str, int] = {}
    for event_id, _ in evts[1:]:
        now = {}
        for lid in list(plan.normal_nodes) + list(new_ids):
            reading = found.get((event_id, lid))
            if reading is None or reading.absent:
                continue
            if lid in plan.normal_nodes:
                state = _node_state(lid, reading, plan.nodal[lid], plan.normal_nodes[lid],
                                    last_size.get(lid), criteria)
            elif plan.kinds.get(lid) == "lymph_node" and lid in plan.nodal:
                state = _node_state(lid, reading, plan.nodal[lid], None, last_size.get(lid),
                                    criteria)
            else:
                state = _tumour_state(lid, reading, plan, first_size.get(lid), criteria)
            size = reading.size("short_axis") if plan.kinds.get(lid) == "lymph_node" \
                else reading.any_size()
            if size is not None:
                first_size.setdefault(lid, size)
                last_size[lid] = size
            if state:
                now[lid] = state
        out.append(now)
    return out


def _node_state(lid, reading, rule, baseline, previous, criteria):
    short_axis = reading.size("short_axis")
    if short_axis is None:
        if reading.assessments & {"present", "unequivocal_progression"} and baseline is None:
            return NewLesion(lid, "counted", None, f"{lid}: new node (unmeasured)")
        if "suspected" in reading.assessments:
            return NewLesion(lid, "equivocal", None, f"{lid}: suspected new node")
        return None
    was = f"{cm(baseline)} -> " if baseline is not None else ""
    if short_axis >= rule.new_at:
        return NewLesion(lid, "counted", short_axis,
                         f"{lid}: short axis {was}{cm(short_axis)} cm reaches {cm(rule.new_at)} cm "
                         f"under {criteria} ({rule.source}): new malignant lesion")
    if rule.equivocal_from is not None and short_axis >= rule.equivocal_from:
        if previous is not None and previous >= rule.equivocal_from and short_axis > previous:
            return NewLesion(lid, "counted", short_axis,
                             f"{lid}: node {cm(previous)} -> {cm(short_axis)} cm, growing after an "
                             f"equivocal 10-15 mm reading (EORTC FAQ): new lesion")
        return NewLesion(lid, "equivocal", short_axis,
                         f"{lid}: node {was}{cm(short_axis)} cm is 10-15 mm: equivocal until it "
                         f"grows at a later scan (EORTC FAQ 'New lymph node lesions')")
    return None


def _tumour_state(lid, reading, plan, first, criteria):
    unequivocal = bool(reading.assessments & {"present", "unequivocal_progression"})
    suspected = "suspected" in reading.assessments
    size = reading.any_size()
    if criteria == "mRECIST" and is_intrahepatic(plan.kinds.get(lid, ""), plan.sites.get(lid, "")):
        limit = tenths(MRECIST_NEW_LESION_CM)
        if first is not None and size is not None and size - first >= limit:
            return NewLesion(lid, "counted", size,
                             f"{lid}: new intrahepatic lesion grew {cm(first)} -> {cm(size)} cm "
                             f"(>= 1 cm interval growth, L&L 2010): new HCC lesion")
        if unequivocal and size is not None and size >= limit:
            return NewLesion(lid, "counted", size,
                             f"{lid}: new intrahepatic lesion {cm(size)} cm >= 1 cm with the "
                             f"typical pattern (L&L 2010)")
        if unequivocal or suspected:
            why = ("not measured" if size is None else f"{cm(size)} cm < 1 cm") if unequivocal \
                else "suspected"
            return NewLesion(lid, "equivocal", size,
                             f"{lid}: new intrahepatic lesion {why}: equivocal under mRECIST until "
                             f">= 1 cm with the typical pattern or >= 1 cm growth (L&L 2010)")
        return None
    if unequivocal:
        return NewLesion(lid, "counted", size, f"{lid}: new lesion")
    if suspected:
        return NewLesion(lid, "equivocal", size,
                         f"{lid}: suspected new lesion: RECIST 1.1 §4.3.5 needs it unequivocal")
    return None


def confirm_equivocal(states: list[dict], evts, backdate: bool) -> list[list[str]]:
    """Back-date confirmed equivocal new lesions (E2009 §4.3.5: "progression
    should be declared using the date of the initial scan"). Modifies
    ``states`` in place; returns notes per follow-up event."""
    notes = [[] for _ in states]
    if not backdate:
        return notes
    for i, now in enumerate(states):
        for lid, lesion in now.items():
            if lesion.status != "equivocal":
                continue
            later = next((j for j in range(i + 1, len(states))
                          if lid in states[j] and states[j][lid].status == "counted"), None)
            if later is not None:
                now[lid] = NewLesion(lid, "counted", lesion.size, lesion.why)
                notes[i].append(f"{lid}: equivocal here, confirmed at {evts[later + 1][0]}: "
                                f"progression back-dated to this scan (RECIST 1.1 §4.3.5)")
    return notes
