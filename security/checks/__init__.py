"""Project Checkov checks (CKV_CA_*), loaded by `checkov --external-checks-dir security/checks`.

Checkov imports every `.py` here as a top-level module named after the file, so file names are
unique (`ckv_ca_<n>_<guarantee>.py`) and shared helpers live outside, in `security.checklib`.
"""
