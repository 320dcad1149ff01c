"""CKV_CA_21: a public REST API lets API Gateway refuse callers that went around CloudFront.

The Lambda's origin check (CKV_CA_17) refuses a direct execute-api call only after the stage
has invoked it: each such call costs an invocation and takes a reserved slot from real callers.
The REST API's resource policy is evaluated before the integration; it must allow
`execute-api:Invoke` only when `aws:Referer` equals the origin-verify value CloudFront sends
(CKV_CA_16), so API Gateway answers 403 itself (stacks/api/origin_gate.py).
Private APIs (reachable only through a VPC endpoint) are out of scope.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, as_list, attr, block, json_attr, statements
from stacks.shared.constants import ORIGIN_REFERER_KEY


def referer_values(conditions: dict[str, Any]) -> list[str] | None:
    """What `StringEquals` requires of `aws:Referer` (None when it requires nothing)."""
    keys = conditions.get("StringEquals")
    if not isinstance(keys, dict):
        return None
    for key, value in keys.items():
        if key.lower() == ORIGIN_REFERER_KEY.lower():
            return [str(v) for v in as_list(value)]
    return None


class RestApiPolicyRequiresOrigin(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Public REST APIs carry a resource policy that allows execute-api:Invoke only "
            f"with {ORIGIN_REFERER_KEY} = the origin-verify value (API Gateway refuses direct "
            "calls before the Lambda)",
            id="CKV_CA_21",
            resources=["aws_api_gateway_rest_api"],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        endpoint = block(conf.get("endpoint_configuration"))
        if "PRIVATE" in [str(t) for t in as_list(attr(endpoint, "types") if endpoint else None)]:
            return []
        if attr(conf, "policy") in (None, ""):
            return ["no resource policy: API Gateway invokes the Lambda for any direct caller"]
        document = json_attr(conf, "policy")
        if isinstance(document, str):
            raise Unknown("policy not known until apply")
        found: list[str] = []
        allows = [s for s in statements(document) if s.allows]
        if not allows:
            found.append("the resource policy allows nothing")
        for statement in allows:
            values = referer_values(statement.conditions)
            if values is None:
                found.append(
                    f"{statement.name}: allows without StringEquals {ORIGIN_REFERER_KEY} "
                    "(direct calls reach the Lambda)"
                )
            elif len(values) != 1 or values[0].strip() in ("", "*"):
                found.append(f"{statement.name}: {ORIGIN_REFERER_KEY} is {values}, not one secret")
            if statement.actions != ["execute-api:Invoke"]:
                found.append(f"{statement.name}: allows {statement.actions}")
        return found


check = RestApiPolicyRequiresOrigin()
