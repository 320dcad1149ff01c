"""IAM decisions from an IAM policy evaluator, for the synthesized stacks' roles.

String checks can say a statement exists; only an evaluator says what a request gets once every
statement, condition, explicit deny and the permissions boundary are weighed together. The
evaluator is `@cloud-copilot/iam-simulate` (`simulator.py` says why that one); this package
turns the synthesized JSON into its inputs (`addresses.py`, `principals.py`) and a request
table into its questions (`requests.py`).
"""
