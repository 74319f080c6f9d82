"""The run layer: executing the notebook collection (runner), the self-contained report,
and the command line."""
