"""What every project check needs: read a Checkov resource config the same way in both frameworks.

Checkov hands a check the resource's attributes wrapped in lists (`{"name": ["x"]}`). JSON-typed
attributes differ by framework: in `terraform_json` (cdktf output) a policy or
`container_definitions` is a JSON *string*, with `${...}` references inside; in `terraform_plan`
Checkov has already parsed it into dicts and lists, and an attribute Terraform only knows after
apply arrives as the *reference text* instead (`aws_iam_role.x.arn`). These helpers turn both
into plain Python values, and tell "unknown until apply" (the check returns UNKNOWN) apart
from a value that is really there.

Only `stacks.shared` constants are imported from the stacks (docs/ARCHITECTURE.md §2): names
and limits that the stacks and the checks must agree on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

from stacks.shared.constants import PROJECT

# Keys Checkov adds to a parsed config; they are bookkeeping, never resource attributes.
_META_KEYS = {"//", "references_", "start_line", "end_line"}


class Unknown(Exception):
    """The value is not known until apply (a plan reference) or not there to judge."""


def is_meta(key: str) -> bool:
    return key in _META_KEYS or (key.startswith("__") and key.endswith("__"))


def plain(value: Any) -> Any:
    """Drop Checkov's bookkeeping keys, recursively; lists and scalars keep their shape."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not is_meta(k)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def unwrap(value: Any) -> Any:
    """Peel the one-element lists Checkov wraps attribute values (and plan blocks) in."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def attr(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """One attribute, unwrapped and without bookkeeping keys."""
    if key not in conf:
        return default
    return plain(unwrap(conf[key]))


def as_list(value: Any) -> list[Any]:
    """IAM and ECS fields are a scalar or a list; always give a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def blocks(value: Any) -> list[dict[str, Any]]:
    """Nested blocks as a flat list of dicts (cdktf writes one block as a dict, plans as lists)."""
    if isinstance(value, dict):
        return [value]
    out: list[dict[str, Any]] = []
    for item in as_list(value):
        out.extend(blocks(item))
    return out


def block(value: Any) -> dict[str, Any]:
    """The single nested block at `value` ({} when absent)."""
    found = blocks(value)
    return found[0] if found else {}


def json_attr(conf: dict[str, Any], key: str) -> Any:
    """A JSON-typed attribute (policy, container definitions) as Python data.

    Raises `Unknown` when the attribute is absent or only known after apply: in a plan Checkov
    puts the reference text (`aws_x.y.arn`) where the JSON would be.
    """
    if key not in conf:
        raise Unknown(f"no {key}")
    raw = conf[key]
    # A parsed JSON list (container definitions) arrives wrapped once: [[{...}]].
    value = raw[0] if isinstance(raw, list) and len(raw) == 1 else raw
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("{", "[")):
            raise Unknown(f"{key} is not known until apply ({text[:80]})")
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise Unknown(f"{key} is not JSON: {error}") from error
    return plain(value)


# --- IAM documents -------------------------------------------------------------------------

# Which attribute holds the policy document, per resource type.
IDENTITY_POLICY_ATTRS = {
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
}
RESOURCE_POLICY_ATTRS = {
    "aws_kms_key": "policy",
    "aws_secretsmanager_secret_policy": "policy",
    "aws_ecr_repository_policy": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_cloudwatch_log_resource_policy": "policy_document",
    # A VPC endpoint's policy: who in the VPC may reach what through it (Principal "*").
    "aws_vpc_endpoint": "policy",
}
TRUST_POLICY_ATTRS = {"aws_iam_role": "assume_role_policy"}
ALL_POLICY_ATTRS = {**IDENTITY_POLICY_ATTRS, **RESOURCE_POLICY_ATTRS, **TRUST_POLICY_ATTRS}


@dataclass
class Statement:
    """One IAM statement with every field normalized to lists (or dicts for conditions)."""

    index: int
    sid: str
    effect: str
    actions: list[str] = field(default_factory=list)
    not_actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    not_resources: list[str] = field(default_factory=list)
    principal: Any = None
    not_principal: Any = None
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """How a finding refers to the statement: its Sid, else its position."""
        return f"statement '{self.sid}'" if self.sid else f"statement #{self.index}"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"


def statements(document: Any) -> list[Statement]:
    """The statements of a policy document (a dict with Statement as a dict or a list)."""
    if not isinstance(document, dict):
        raise Unknown("policy document is not an object")
    out = []
    for index, raw in enumerate(as_list(document.get("Statement"))):
        if not isinstance(raw, dict):
            continue
        out.append(
            Statement(
                index=index,
                sid=str(raw.get("Sid", "")),
                effect=str(raw.get("Effect", "")),
                actions=[str(a) for a in as_list(raw.get("Action"))],
                not_actions=[str(a) for a in as_list(raw.get("NotAction"))],
                resources=[str(r) for r in as_list(raw.get("Resource"))],
                not_resources=[str(r) for r in as_list(raw.get("NotResource"))],
                principal=raw.get("Principal"),
                not_principal=raw.get("NotPrincipal"),
                conditions=raw.get("Condition") or {},
            )
        )
    return out


def policy_statements(conf: dict[str, Any], entity_type: str) -> list[Statement]:
    """The statements of the resource's policy attribute (Unknown when not known yet)."""
    key = ALL_POLICY_ATTRS[entity_type]
    return statements(json_attr(conf, key))


def is_wildcard_action(action: str) -> bool:
    """`*`, `service:*`, and any pattern (`s3:Get*`, `iam:?ass*`) — they grant unnamed actions."""
    return "*" in action or "?" in action


def matches_everything(resource: str) -> bool:
    return resource.strip() in ("*", "arn:*", "arn:aws:*", "arn:*:*")


def service_of(action: str) -> str:
    return action.split(":", 1)[0].lower() if ":" in action else action.lower()


def principals(principal: Any) -> Iterator[tuple[str, str]]:
    """(kind, value) pairs of a Principal element; `"*"` yields ("*", "*")."""
    if principal is None:
        return
    if isinstance(principal, str):
        yield ("*", principal) if principal == "*" else ("AWS", principal)
        return
    if isinstance(principal, dict):
        for kind, values in principal.items():
            for value in as_list(values):
                yield str(kind), str(value)


# --- Project identities ----------------------------------------------------------------------

# The agent task role (a headless run's) is named `<PROJECT>-<env>-agent-task` (stacks/agent:
# task family `<prefix>-agent` + `-task`), a session's exec role `...-agent-exec`, and
# `stacks.shared.iam.role_with_policy` names a role's policy `<role>-policy`.
AGENT_TASK_ROLE_NAME = re.compile(rf"^{re.escape(PROJECT)}-[a-z0-9-]+-agent-task$")
AGENT_TASK_POLICY_NAME = re.compile(rf"^{re.escape(PROJECT)}-[a-z0-9-]+-agent-task-policy$")
AGENT_EXEC_ROLE_NAME = re.compile(rf"^{re.escape(PROJECT)}-[a-z0-9-]+-agent-exec$")
AGENT_EXEC_POLICY_NAME = re.compile(rf"^{re.escape(PROJECT)}-[a-z0-9-]+-agent-exec-policy$")


def is_plan(conf: dict[str, Any]) -> bool:
    """True when Checkov read the resource from a `terraform show -json` plan.

    The plan parser records the change Terraform will make; the terraform_json parser does not.
    """
    return "__change_actions__" in conf or "start_line" in conf


def is_reference(value: str) -> bool:
    """A Terraform reference: `${...}` in synth, bare `aws_x.y.attr` / `data.x...` in a plan."""
    return "${" in value or bool(re.match(r"^(data\.)?[a-z0-9_]+\.[A-Za-z0-9_-]+\.", value))


# --- The base of every project check ---------------------------------------------------------

GUIDELINE = "security/checks/ (Cloud Agent Studio, docs/ARCHITECTURE.md §6)"


class ProjectCheck(BaseResourceCheck):
    """A resource check that lists what is wrong instead of returning a bare verdict.

    `problems()` returns one line per violation (empty: the resource keeps the guarantee) or
    raises `Unknown` when the value is only known after apply. The lines go to Checkov's
    `details` (shown in its reports) and tell a reader which rule failed, not just which check.
    """

    def __init__(
        self,
        *,
        name: str,
        id: str,
        resources: list[str],
        categories: list[CheckCategories] | None = None,
    ) -> None:
        super().__init__(
            name=name,
            id=id,
            categories=categories or [CheckCategories.IAM],
            supported_resources=resources,
            guideline=GUIDELINE,
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.details = []
        try:
            found = self.problems(conf)
        except Unknown as why:
            self.details = [f"not judged: {why}"]
            return CheckResult.UNKNOWN
        self.details = found
        return CheckResult.FAILED if found else CheckResult.PASSED

    def evaluate(self, conf: dict[str, Any], entity_type: str) -> tuple[CheckResult, list[str]]:
        """Run the check outside Checkov's runner (tests): the verdict and its reasons."""
        self.entity_type = entity_type
        result = self.scan_resource_conf(conf)
        return result, list(self.details)
