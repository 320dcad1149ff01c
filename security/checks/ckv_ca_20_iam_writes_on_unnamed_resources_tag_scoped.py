"""CKV_CA_20: a write on resources the ARN cannot name is scoped by the project's tags.

`key/*`, `distribution/*`, `/restapis/*` or `arn:aws:ec2:<region>:<account>:*` reach every such
resource in the account: other teams' keys, websites, APIs and security groups. An identity
policy may grant a write on one (`names_no_resource`) only when the statement also requires the
project's tags, `StringEquals` on `aws:ResourceTag/<key>` (existing resources) or
`aws:RequestTag/<key>` (creates) for both `Project` and `Environment`
(`stacks/shared/tags.py`), each a fixed value. Read-only statements (Describe/Get/List/BatchGet,
`apigateway:GET`, `kms:Decrypt`) may read across the account; writes that can only create a new
resource and take no tag condition are listed, each with why, in `CREATE_ONLY_ACTIONS`, and
writes on untaggable resource types that have no ARN before creation in `UNTAGGABLE_WRITES`.
`Resource: "*"` is CKV_CA_3's; Deny statements only take permissions away.

The permissions boundary (`cloudagent-<env>-boundary`) is not judged: it grants nothing, it is
the ceiling each bounded role's own policy is cut to, and those policies are judged here (they
name the project key by reference). It must stay under 6,144 characters, which has no room for
a tag condition on its one write on `key/*` (runtime `kms:Encrypt`/`GenerateDataKey`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    IDENTITY_POLICY_ATTRS,
    ProjectCheck,
    Statement,
    attr,
    policy_statements,
)
from stacks.shared.actions import READ_ACTION_PREFIXES, READ_ACTIONS_WITHOUT_READ_PREFIX
from stacks.shared.constants import PROJECT
from stacks.shared.tags import CREATE_ONLY_ACTIONS, SCOPE_TAG_KEYS, UNTAGGABLE_WRITES

# stacks.shared.arns.boundary_name: `<project>-<env>-boundary` (env names have no `-`).
BOUNDARY_NAME = re.compile(rf"^{re.escape(PROJECT)}-[a-z0-9]+-boundary$")


def names_no_resource(resource: str) -> bool:
    """An ARN whose resource part is only resource types and `*`: every such resource in reach.

    `key/*`, `distribution/*`, `/restapis/*`, `arn:aws:ec2:<region>:<account>:*` name nothing
    of the project; `role/cloudagent-dev-*`, `log-group:/cloudagent/dev/*`,
    `table/cloudagent-dev/index/*`, `managedruleset/AWSManagedRules*/*` or a Terraform reference
    in the resource part do. A segment names something when it is not a lowercase type word
    (`key`, `log-group`) or contains the project's name; an S3 ARN's first segment is a bucket's
    name. `*` alone is CKV_CA_3's (`matches_everything`).
    """
    text = resource.strip()
    parts = text.split(":", 5)  # partition and account may be references: only [5] matters
    if not text.endswith("*") or len(parts) < 6 or parts[0] != "arn" or "${" in parts[5]:
        return False
    segments = [s for s in re.split(r"[/:]", parts[5]) if s]
    if parts[2] == "s3" and segments and segments[0] != "*":
        return False
    return all(
        s == "*" or (re.fullmatch(r"[a-z][a-z-]*", s) and PROJECT not in s) for s in segments
    )


def is_read(action: str) -> bool:
    verb = action.split(":", 1)[-1]
    return action in READ_ACTIONS_WITHOUT_READ_PREFIX or verb.startswith(READ_ACTION_PREFIXES)


def fixed(value: Any) -> bool:
    """One literal value: no list, no wildcard, no policy variable."""
    return isinstance(value, str) and bool(value) and not any(c in value for c in "*?$")


def tag_scoped(statement: Statement) -> bool:
    """StringEquals pins every scope tag, on the resource or in the request."""
    equals = statement.conditions.get("StringEquals") or {}
    return all(
        any(fixed(equals.get(f"aws:{kind}/{key}")) for kind in ("ResourceTag", "RequestTag"))
        for key in SCOPE_TAG_KEYS
    )


class IamWritesOnUnnamedResourcesTagScoped(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="IAM writes on resources no ARN names (key/*, distribution/*, restapis/*, "
            "ec2 ...:*) only with the project's Project and Environment tag conditions",
            id="CKV_CA_20",
            resources=sorted(IDENTITY_POLICY_ATTRS),
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        if self.entity_type == "aws_iam_policy" and BOUNDARY_NAME.match(str(attr(conf, "name"))):
            return found
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows or tag_scoped(statement):
                continue
            writes = sorted(
                a
                for a in statement.actions
                if not is_read(a) and a not in CREATE_ONLY_ACTIONS and a not in UNTAGGABLE_WRITES
            )
            if not writes:
                continue
            for resource in statement.resources:
                if names_no_resource(resource):
                    found.append(
                        f"{statement.name}: '{resource}' names no resource of the project, for "
                        f"{', '.join(writes)}; name it, or require the project's tags "
                        f"(StringEquals aws:ResourceTag/ or aws:RequestTag/ "
                        f"{' and '.join(SCOPE_TAG_KEYS)})"
                    )
        return found


check = IamWritesOnUnnamedResourcesTagScoped()
