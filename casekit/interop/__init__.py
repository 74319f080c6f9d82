"""Interoperability: CDISC SDTM import and export (``sdtm``), the mapping as data
(``mapping``), and concordance of recomputed with recorded responses (``concordance``)."""
