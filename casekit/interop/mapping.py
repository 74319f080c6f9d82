"""The SDTM <-> case-folder mapping as data: code lists and the define-style variable table.

Import (:mod:`casekit.interop.sdtm`) and export read these tables, and ``data/README.md``
("SDTM mapping") documents the same rows for people. Names follow SDTMIG v3.4; values are
CDISC Controlled Terminology where a code list exists (``ct`` says which, or that a value is
sponsor-defined because no term exists).
"""

from __future__ import annotations

import pandas as pd

#: TU.TUORRES (CDISC CT "Tumor Identification Result": TARGET, NON-TARGET, NEW) <-> role.
ROLE_FROM_TUORRES = {"TARGET": "target", "NON-TARGET": "non_target", "NEW": "new"}
TUORRES_FROM_ROLE = {v: k for k, v in ROLE_FROM_TUORRES.items()}

#: TR tests that carry a diameter, by case measure. RECIST 1.1 §3.1.1 measures a node by
#: its short axis, the longest diameter perpendicular to its long axis in the axial plane:
#: that is TRTESTCD LPERP for a lymph node (pharmaversesdtm's convention: LPERP = DIAMETER
#: for nodes); SAXIS is accepted on import as the same measure.
TESTCD_FROM_MEASURE = {"longest": "LDIAM", "short_axis": "LPERP", "viable": "VLDIAM"}
TEST_NAMES = {"LDIAM": "Longest Diameter", "LPERP": "Longest Perpendicular",
              "SAXIS": "Short Axis", "VLDIAM": "Viable Tumor Longest Diameter",
              "DIAMETER": "Diameter", "SUMDIAM": "Sum of Diameter", "TUMSTATE": "Tumor State"}

#: TR TUMSTATE results (pharmaversesdtm's words) <-> case assessment, by role. For a new
#: lesion UNEQUIVOCAL means an unequivocal new lesion (present), EQUIVOCAL a suspected one
#: (RECIST 1.1 §4.3.5); for a non-target UNEQUIVOCAL means unequivocal progression (§4.3.3).
ASSESSMENT_FROM_TUMSTATE = {
    "non_target": {"PRESENT": "present", "ABSENT": "absent",
                   "UNEQUIVOCAL": "unequivocal_progression",
                   "UNEQUIVOCAL PROGRESSION": "unequivocal_progression",
                   "EQUIVOCAL": "suspected"},
    "new": {"UNEQUIVOCAL": "present", "PRESENT": "present", "EQUIVOCAL": "suspected",
            "ABSENT": "absent"},
    "target": {"PRESENT": "present", "ABSENT": "absent",
               "UNEQUIVOCAL": "unequivocal_progression", "EQUIVOCAL": "suspected"},
}
TUMSTATE_FROM_ASSESSMENT = {
    "non_target": {"present": "PRESENT", "absent": "ABSENT",
                   "unequivocal_progression": "UNEQUIVOCAL", "suspected": "EQUIVOCAL"},
    "new": {"present": "UNEQUIVOCAL", "suspected": "EQUIVOCAL", "absent": "ABSENT",
            "unequivocal_progression": "UNEQUIVOCAL"},
    "target": {"present": "PRESENT", "absent": "ABSENT",
               "unequivocal_progression": "UNEQUIVOCAL", "suspected": "EQUIVOCAL"},
}

#: RS.RSCAT <-> case criteria.
CRITERIA_FROM_RSCAT = {"RECIST 1.1": "RECIST1.1", "RECIST1.1": "RECIST1.1",
                       "MRECIST": "mRECIST", "mRECIST": "mRECIST", "iRECIST": "iRECIST",
                       "IRECIST": "iRECIST"}
RSCAT_FROM_CRITERIA = {"RECIST1.1": "RECIST 1.1", "mRECIST": "mRECIST", "iRECIST": "iRECIST"}

#: RS.RSSTRESC (CDISC CT "Response" words) <-> case category.
CATEGORY_FROM_RSORRES = {
    "CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD", "NE": "NE",
    "NON-CR/NON-PD": "non-CR/non-PD", "iCR": "iCR", "iPR": "iPR", "iSD": "iSD",
    "iUPD": "iUPD", "iCPD": "iCPD", "NON-iCR/NON-iUPD": "non-iCR/non-iUPD",
}
RSORRES_FROM_CATEGORY = {v: k for k, v in CATEGORY_FROM_RSORRES.items()}

#: RS component tests (besides OVRLRESP) that ride in a response row's ``source``.
RS_COMPONENTS = ("TRGRESP", "NTRGRESP", "NEWLPROG", "NEWLIND", "IRECLIND")
RS_TEST_NAMES = {"OVRLRESP": "Overall Response", "TRGRESP": "Target Response",
                 "NTRGRESP": "Non-target Response", "NEWLPROG": "New Lesion Progression",
                 "NEWLIND": "New Lesion Indicator",
                 "IRECLIND": "Last iRECIST Assessment Indicator"}

#: RSEVAL of calls casekit computed (the recorded calls keep the evaluator they came with).
#: CDISC's Evaluator code list (C78735) is extensible and has no term for an algorithm, so
#: this is a sponsor-defined term.
COMPUTED_RSEVAL = "COMPUTER ALGORITHM"
COMPUTED_RSEVALID = "CASEKIT"

#: case lab test -> (LBTESTCD, LBTEST, in CDISC CT?). PIVKA-II and HBV DNA have no LB test
#: code we could confirm, so theirs are sponsor-defined.
LB_TESTS = {
    "AFP": ("AFP", "Alpha Fetoprotein", True),
    "PIVKA-II": ("PIVKAII", "Protein Induced by Vitamin K Absence-II", False),
    "HBV-DNA": ("HBVDNA", "Hepatitis B Virus DNA", False),
    "WBC": ("WBC", "Leukocytes", True),
    "HGB": ("HGB", "Hemoglobin", True),
    "PLT": ("PLAT", "Platelets", True),
    "BILI": ("BILI", "Bilirubin", True),
    "ALB": ("ALB", "Albumin", True),
    "INR": ("INR", "Prothrombin Intl. Normalized Ratio", True),
    "AST": ("AST", "Aspartate Aminotransferase", True),
    "ALT": ("ALT", "Alanine Aminotransferase", True),
    "CREAT": ("CREAT", "Creatinine", True),
    "SODIUM": ("SODIUM", "Sodium", True),
}
TEST_FROM_LBTESTCD = {code: test for test, (code, _, _) in LB_TESTS.items()}

SEX_FROM_DM = {"M": "male", "F": "female"}
DM_FROM_SEX = {"male": "M", "female": "F"}

# ------------------------------------------------------------------ define-style table
#: (dataset, variable, label, controlled terms / format, case source or rule)
DEFINE_ROWS = (
    ("DM", "STUDYID", "Study Identifier", "", "fact studyid (else CASEKIT)"),
    ("DM", "DOMAIN", "Domain Abbreviation", "DM", "constant"),
    ("DM", "USUBJID", "Unique Subject Identifier", "", "fact usubjid (else the case folder name)"),
    ("DM", "SUBJID", "Subject Identifier for the Study", "", "as USUBJID"),
    ("DM", "RFSTDTC", "Subject Reference Start Date/Time", "ISO 8601",
     "fact reference_start_date (empty when the case has no dates); day 0 of the timeline"),
    ("DM", "AGE", "Age", "", "fact age_years"),
    ("DM", "AGEU", "Age Units", "CT AGEU: YEARS", "YEARS when AGE is given"),
    ("DM", "SEX", "Sex", "CT SEX: M, F, U", "fact sex (male M, female F, else U)"),
    ("TU", "TUSEQ", "Sequence Number", "", "order of first appearance"),
    ("TU", "TULNKID", "Link ID", "", "lesions.csv lesion_id (links TR.TRLNKID)"),
    ("TU", "TUTESTCD", "Tumor Identification Short Name", "CT TUTESTCD: TUMIDENT", "constant"),
    ("TU", "TUORRES", "Tumor Identification Result", "CT: TARGET, NON-TARGET, NEW",
     "lesions.csv role at the lesion's first event"),
    ("TU", "TUSTRESC", "Tumor Identification Result Std. Format", "as TUORRES", "as TUORRES"),
    ("TU", "TULOC", "Location of the Tumor", "free text (the case's site, not CT LOC)",
     "lesions.csv site; a site naming LYMPH NODE makes kind lymph_node on import"),
    ("TU", "TUEVAL", "Evaluator", "CT C78735", "fact evaluator (else INVESTIGATOR)"),
    ("TU", "VISITNUM/VISIT/TUDTC/TUDY", "Visit and timing", "ISO 8601; SDTM study day",
     "the lesion's first event (see TR)"),
    ("SUPPTU", "QNAM=TUKIND", "Lesion kind", "tumour, lymph_node, vascular_invasion",
     "lesions.csv kind, only where TULOC does not imply it"),
    ("TR", "TRSEQ", "Sequence Number", "", "row order (lesion rows in day order)"),
    ("TR", "TRGRPID", "Group ID", "TARGET, NON-TARGET, NEW", "lesions.csv role"),
    ("TR", "TRLNKID", "Link ID", "", "lesions.csv lesion_id"),
    ("TR", "TRTESTCD", "Tumor Assessment Short Name",
     "CT TRTESTCD: LDIAM, LPERP, DIAMETER, SUMDIAM, TUMSTATE; VLDIAM sponsor-defined",
     "measure longest -> LDIAM, short_axis -> LPERP (RECIST 1.1 short axis of a node), "
     "viable -> VLDIAM; assessment -> TUMSTATE; DIAMETER = the RECIST diameter of a target "
     "(short axis for nodes), SUMDIAM = sum of the targets' DIAMETER at the event"),
    ("TR", "TRORRES/TRSTRESC/TRSTRESN", "Result", "mm", "size_cm x 10; TUMSTATE words"),
    ("TR", "TRORRESU/TRSTRESU", "Units", "CT UNIT: mm", "mm for diameters"),
    ("TR", "TRSTAT", "Completion Status", "CT ND: NOT DONE",
     "NOT DONE for a target row with no measurement, and for a non-target lesion with no "
     "row at an assessment event"),
    ("TR", "TRREASND", "Reason Not Performed", "free text", "from the row's source when recorded"),
    ("TR", "TREVAL/TREVALID", "Evaluator", "CT C78735", "facts evaluator, evaluator_id"),
    ("TR", "VISITNUM", "Visit Number", "", "VISITNUM in the event's source, else event order"),
    ("TR", "VISIT", "Visit Name", "", "timeline label if it names the event, else event_id"),
    ("TR", "TRDTC", "Date/Time of Tumor Measurement", "ISO 8601",
     "reference_start_date + day (empty without dates)"),
    ("TR", "TRDY", "Study Day", "", "day + 1 for day >= 0, else day (SDTM has no day 0)"),
    ("RS", "RSSEQ", "Sequence Number", "", "recorded: the RSSEQ in the source; computed: next"),
    ("RS", "RSTESTCD", "Response Assessment Short Name",
     "CT: OVRLRESP, TRGRESP, NTRGRESP, NEWLPROG", "responses.csv row -> OVRLRESP; components "
     "from its source (recorded) or the engine's columns (computed)"),
    ("RS", "RSCAT", "Category", "RECIST 1.1, mRECIST, iRECIST", "responses.csv criteria"),
    ("RS", "RSORRES/RSSTRESC", "Result", "CT RS response: CR, PR, SD, PD, NE, NON-CR/NON-PD, "
     "iCR, iPR, iSD, iUPD, iCPD", "responses.csv category"),
    ("RS", "RSEVAL/RSEVALID", "Evaluator",
     f"CT C78735 (extensible); {COMPUTED_RSEVAL}/{COMPUTED_RSEVALID} sponsor-defined",
     f"recorded calls: facts evaluator, evaluator_id; calls computed by casekit "
     f"(casekit.rules.response.assess): {COMPUTED_RSEVAL} / {COMPUTED_RSEVALID}"),
    ("RS", "VISITNUM/VISIT/RSDTC/RSDY", "Visit and timing", "", "as TR"),
    ("LB", "LBTESTCD/LBTEST", "Lab Test", "CT LBTESTCD (PIVKAII, HBVDNA sponsor-defined)",
     "labs.csv test"),
    ("LB", "LBORRES/LBORRESU", "Result as collected", "", "labs.csv value and unit as reported"),
    ("LB", "LBSTRESN/LBSTRESU", "Standard result", "", "the canonical unit of casekit.case.units"),
    ("LB", "VISITNUM/VISIT/LBDTC/LBDY", "Visit and timing", "", "as TR"),
    ("EX", "EXTRT", "Name of Treatment", "free text", "timeline label of a systemic event"),
    ("EX", "EXSTDTC/EXSTDY", "Start", "ISO 8601; study day", "as TR"),
)


def define_table() -> pd.DataFrame:
    """The define-style table of what each exported variable holds."""
    return pd.DataFrame(DEFINE_ROWS, columns=["dataset", "variable", "label",
                                              "controlled_terms", "case_source_or_rule"])
