"""The case layer: the case-folder format, its schema and units, loading and validation,
the timeline, the new-case scaffold, and what a case holds besides measurements (its
overview and the trials it cites).

The public API of loading is re-exported here: ``from casekit.case import load_case``.
"""

from casekit.case.load import Case, CaseError, Problem, load_case, validate_case

__all__ = ["Case", "CaseError", "Problem", "load_case", "validate_case"]
