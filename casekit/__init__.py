"""casekit: a published oncology case report as tidy data, recomputed.

Layers, in the order data flows:
    case (load and validate a case folder) -> timeline, response, markers,
    scores, staging, dosimetry, claims (compute) -> figures (plot) ->
    runner, report (execute notebooks, write outputs).
"""

__version__ = "0.1.0"
