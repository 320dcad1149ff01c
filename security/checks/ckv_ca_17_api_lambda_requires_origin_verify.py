"""CKV_CA_17: a Lambda that serves the control API requires the origin-verify header.

The other half of CKV_CA_16: the function that answers HTTP (it authenticates callers, so it
has `OIDC_AUDIENCE` in its environment) must be given the origin-verify secret, which turns on
its refusal of any request that did not come through CloudFront. Without it, the WAF can be
bypassed by calling the execute-api endpoint directly.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, block, unwrap
from stacks.shared.constants import ORIGIN_VERIFY_ENV


class ApiLambdaRequiresOriginVerify(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"Control API Lambdas set {ORIGIN_VERIFY_ENV} (refuse calls around CloudFront)",
            id="CKV_CA_17",
            resources=["aws_lambda_function"],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        environment = block(conf.get("environment"))
        variables = unwrap(environment.get("variables")) if environment else None
        if isinstance(variables, str):
            raise Unknown("environment not known until apply")
        variables = variables if isinstance(variables, dict) else {}
        if "OIDC_AUDIENCE" not in variables:
            return []  # not an HTTP-facing function
        value = unwrap(variables.get(ORIGIN_VERIFY_ENV))
        if not value:
            return [
                f"serves the API but {ORIGIN_VERIFY_ENV} is unset: calls around CloudFront pass"
            ]
        return []


check = ApiLambdaRequiresOriginVerify()
