"""The error every run command reports as bad input (exit 2, one line, no traceback)."""


class RunInputError(ValueError):
    """Bad input to a run (parameters, notebooks folder): reported without a traceback."""
