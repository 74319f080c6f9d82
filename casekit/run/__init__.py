"""The run layer: executing the notebook collection (runner), the self-contained report,
how to cite the software and a case (cite), and the command line."""
