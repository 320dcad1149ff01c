"""`make scan`: Checkov and parliament over the synthesized stacks and their Terraform plans.

Two views of the same infrastructure, because each sees what the other cannot:
- the synthesized JSON (`cdktf.out`, framework `terraform_json`) is what is reviewed and
  committed to; every value is there, with `${...}` where another resource's attribute goes;
- `terraform show -json` of each stack's plan (framework `terraform_plan`) has those references
  resolved to the ARNs Terraform will use. The plans are made against moto server with the
  production S3 backend: foundation and agent are applied first, so agent's and api's
  `terraform_remote_state` read real outputs, then all three stacks are planned.

Results: `cdktf.out/scan/` holds Checkov's JSON and SARIF (for GitHub code scanning) per view,
the plans, and `summary.json`. The exit status is non-zero on any failed check, any parliament
finding not justified in `security/parliament_allow.py`, or a stack that could not be planned.

`quick_scan()` is the fast half (Checkov on `cdktf.out` and parliament, no Terraform): `make
synth` ends with it (`python -m devtools.scan --quick`). Modules: `checks` (one Checkov run,
parliament), `quick`, `plans` (the stacks planned on moto) and `full`.
"""

from devtools.scan.full import full_scan
from devtools.scan.quick import quick_scan

__all__ = ["full_scan", "quick_scan"]
