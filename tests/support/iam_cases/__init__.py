"""The table of IAM claims the security tests put to the evaluator (security/iam_eval/).

Each case is one request a role of the synthesized stacks (local defaults: environment `dev`,
prefix `cloudagent-dev`, region us-east-1) makes or an attacker holding it would make, and
the decision IAM must reach, and each is shown to hinge on what it claims:
- allowed `by` a statement: without that statement it is denied;
- denied `by` an explicit deny: it stays denied even with an allow planted beside it, and is
  allowed once the deny is removed;
- denied because nothing allows it: the planted allow opens it.
The plant is the request's own action on its resource unless a case names the shape a careless
policy would have (`plant`); it goes into the role's policy and its boundary. One module per
role family; `CASES` gathers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from security.iam_eval.addresses import ACCOUNT
from security.iam_eval.requests import Request

REGION = "us-east-1"
PREFIX = "cloudagent-dev"
OTHER_ACCOUNT = "444455556666"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{PREFIX}-boundary"
# Tags of this environment's resources, as the provider's default_tags send them on create.
OURS = {"Project": "cloudagent", "Environment": "dev"}
CREATE_TAGS = {**OURS, "Stack": "foundation", "ManagedBy": "cdktf"}
PROD = {"Project": "cloudagent", "Environment": "prod"}
OTHER_TEAM = {"Project": "payments", "Environment": "dev"}


@dataclass(frozen=True)
class Case:
    id: str
    role: str  # the role's name after the prefix: "github-deploy", "agent-task"
    request: Request
    allowed: bool
    by: str | None = None  # the Sid that decides; removing it flips the decision
    plant: dict | None = None  # the allow a careless policy would have (default: see above)
    # A request on the project key: KMS decides with the key's policy too. The test puts the
    # key's ARN and policy, resolved from the synth, in place of the request's resource.
    key_policy: bool = False

    @property
    def role_name(self) -> str:
        return f"{PREFIX}-{self.role}"

    def planted_allow(self, request: Request) -> dict:
        return self.plant or allow([request.action], request.resource)


def arn(service: str, resource: str, *, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{name}"


def allow(actions: list[str], resource: str, condition: dict | None = None) -> dict:
    """A planted Allow statement: the shape an earlier or a careless policy had."""
    found = {"Sid": "Planted", "Effect": "Allow", "Action": actions, "Resource": resource}
    return {**found, "Condition": condition} if condition else found
