"""casekit: a published oncology case report as tidy data, recomputed.

Layers, in the order data flows (each imports only from the layers before it):
    casekit.case   the case-folder format: schema, units, load and validate, timeline,
                   new-case scaffold, overview, cited trials
    casekit.rules  published rules computed from a case: response, markers, scores,
                   staging, dosimetry, claims
    casekit.plot   figures
    casekit.run    runner, report, command line
``casekit.outputs`` (atomic, reproducible file writing) is shared by all of them.
"""

__version__ = "0.1.0"
