"""The rules layer: each module computes one family of published rules from a loaded case —
tumour response (RECIST 1.1, mRECIST), tumour markers, liver scores, staging, dosimetry —
and ``claims`` recomputes a paper's quantitative statements with them. Every rule cites its
source in its docstring."""
