"""The options of a case's derivation, resolved in exactly one place.

A derivation depends on the case (its facts: which nodes are porta hepatis nodes, which
criteria apply) and on the run (``-p NAME VALUE`` parameters of ``casekit run`` and
``casekit series``, the notebooks' parameters, ``export-adam --conventions``).
:func:`resolve_options` combines them into one frozen :class:`Options`; nothing else reads
case facts or parameters for a derivation, so a case analysed alone and in a series is
derived with the same options.

Conventions (``conventions``) are named presets of the options that decide between two
published readings; an option given explicitly wins over its convention's preset:

- ``casekit`` (default): calls recomputed from the lesion rows; PFS censored at the last
  adequate assessment (FDA 2018); an unconfirmed CR of non-target-only disease counts as
  non-CR/non-PD (RECIST 1.1 Table 2).
- ``admiralonco``: the choices of admiralonco's ADRS/ADTTE templates
  (``inst/templates/ad_adrs.R``, ``ad_adtte.R``): the overall response as recorded (SDTM
  RS, the case's ``responses.csv``), PFS and DOR censored at the last assessment whatever
  its call, an unconfirmed CR counting as SD (``bor_sd``). Partial SDTM dates imputed to
  the last day of the period (``derive_vars_dt(date_imputation = "last")``) is an import
  option (:func:`casekit.interop.sdtm.import_sdtm`), applied by ``export-adam --sdtm``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Analysis options: name -> (default, allowed values or type, what it means). The single
#: declaration: ``casekit series -p``, the notebooks and ``export-adam`` are checked against it.
OPTIONS: dict[str, tuple[object, object, str]] = {
    "conventions": ("casekit", ("casekit", "admiralonco"),
                    "named preset of the options below (casekit or admiralonco)"),
    "calls": (None, ("computed", "recorded"),
              "overall response per visit: computed from the lesions, or as recorded "
              "(responses.csv); default by conventions"),
    "count_suspected": (False, bool, "count suspected (unconfirmed) new lesions as new lesions"),
    "confirm_days": (28, int, "minimum interval that confirms a CR/PR (RECIST 1.1 §4.6.1)"),
    "min_sd_days": (42, int, "minimum time from treatment start for stable disease to count "
                             "(RECIST 1.1 §4.4.3; 6 weeks)"),
    "censoring": (None, ("last_adequate", "last_assessment"),
                  "PFS/DOR censoring without progression or death; default by conventions"),
    "unconfirmed_iupd": ("censor", ("censor", "event"),
                         "an iUPD never confirmed: censored, or a PFS event"),
    "non_target_only_unconfirmed_cr": (None, ("non-CR/non-PD", "SD"),
                                       "BOR of an unconfirmed CR in non-target-only disease; "
                                       "default by conventions"),
    "reference_event": (None, str, "marker reference event (None: each test's first value)"),
}
CONVENTIONS: dict[str, dict[str, object]] = {
    "casekit": {"calls": "computed", "censoring": "last_adequate",
                "non_target_only_unconfirmed_cr": "non-CR/non-PD"},
    "admiralonco": {"calls": "recorded", "censoring": "last_assessment",
                    "non_target_only_unconfirmed_cr": "SD"},
}


@dataclass(frozen=True)
class Options:
    """Every option of one case's derivation (see :data:`OPTIONS`), plus what the case
    decides: ``criteria`` (:func:`casekit.rules.criteria.applicable_criteria`) and
    ``porta_hepatis`` (:func:`casekit.rules.response.case_options`)."""

    conventions: str = "casekit"
    calls: str = "computed"
    count_suspected: bool = False
    confirm_days: int = 28
    min_sd_days: int = 42
    censoring: str = "last_adequate"
    unconfirmed_iupd: str = "censor"
    non_target_only_unconfirmed_cr: str = "non-CR/non-PD"
    reference_event: str | None = None
    criteria: tuple[str, ...] = ()
    porta_hepatis: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return asdict(self)


def check_parameters(parameters: dict | None) -> dict:
    """The parameters with their values checked against :data:`OPTIONS` (ValueError names
    an unknown one and the allowed values of a bad one); ``None`` values are dropped."""
    given = {k: v for k, v in dict(parameters or {}).items() if v is not None}
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown analysis option(s) {', '.join(unknown)}; known: "
                         f"{', '.join(OPTIONS)}")
    for name, value in given.items():
        _, allowed, _ = OPTIONS[name]
        if isinstance(allowed, tuple):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, "
                                 f"not {value!r}")
        elif allowed is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {value!r}")
        elif allowed is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number of days >= 0, not {value!r}")
    return given


def resolve_options(case, parameters: dict | None = None) -> Options:
    """The options of ``case``'s derivation: defaults, then the convention's preset, then
    the explicit ``parameters``, then what the case decides (criteria, porta hepatis)."""
    from casekit.rules.criteria import applicable_criteria
    from casekit.rules.response import case_options

    given = check_parameters(parameters)
    values = {name: default for name, (default, _, _) in OPTIONS.items()}
    values.update({k: v for k, v in CONVENTIONS[given.get("conventions", "casekit")].items()})
    values.update(given)
    return Options(**values, criteria=tuple(applicable_criteria(case)),
                   porta_hepatis=tuple(case_options(case)["porta_hepatis"]))
