"""parliament over every IAM policy document in the synthesized stacks.

Checkov's checks read policies for wildcards and scope; parliament knows AWS's action and
resource catalogue, so it catches what a pattern cannot: an action that does not exist (a typo
IAM would accept silently and never grant), a condition key the action does not support, or a
resource ARN of the wrong type for its action.

The synthesized JSON holds Terraform references (`${aws_kms_key.x.arn}`) where ARNs will be, and
parliament can only judge real ARNs. Each reference is replaced by a placeholder ARN of the
resource type the reference names, so a KMS action pointed at a secret is still a mismatch.
A reference of a type not known here is itself a finding (`UNRESOLVED_REFERENCE`): extend
`PLACEHOLDERS` rather than let a document go unjudged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from security.checklib import ALL_POLICY_ATTRS, TRUST_POLICY_ATTRS
from security.parliament_allow import (
    ALLOWED_FINDINGS,
    STAR_ONLY_REASON,
    AllowedFinding,
    star_only,
)
from stacks.shared.constants import GITHUB_OIDC_HOST, STACK_NAMES

ACCOUNT = "123456789012"
REGION = "us-east-1"

# (fragment of the reference, placeholder). First match wins: specific types before prefixes.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("aws_caller_identity", ACCOUNT),
    ("aws_partition", "aws"),
    ("aws_region", REGION),
    ("aws_secretsmanager_secret", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ph-AbCdEf"),
    ("aws_dynamodb_table", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/placeholder"),
    ("aws_kms_key", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"),
    ("aws_cloudwatch_log_group", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/placeholder"),
    ("aws_ecr_repository", f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/placeholder"),
    ("aws_iam_role", f"arn:aws:iam::{ACCOUNT}:role/placeholder"),
    # The project's only OIDC identity provider is GitHub's (stacks/foundation/github/).
    (
        "aws_iam_openid_connect_provider",
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_OIDC_HOST}",
    ),
    ("aws_lambda_function", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:placeholder"),
    ("aws_ecs_cluster", f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/placeholder"),
    ("aws_ecs_task_definition", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/placeholder"),
    ("aws_api_gateway_rest_api", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:placeholder"),
    ("aws_cloudwatch_event_rule", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/placeholder"),
    ("aws_wafv2_web_acl", f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/placeholder/id"),
    # The VPC: the deploy role names its default security group by the VPC's attribute.
    ("aws_vpc", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123456789abcdef0"),
    ("aws_s3_bucket", "arn:aws:s3:::placeholder"),
    ("aws_sqs_queue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:placeholder"),
    ("aws_sns_topic", f"arn:aws:sns:{REGION}:{ACCOUNT}:placeholder"),
)
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# The reference yields an ARN (`.arn`, `.execution_arn`, `...arn_without_revision`, and cdktf's
# cross-stack outputs, whose names end in the attribute: `...compute_cluster_E15A6318arn`).
_ARN_ATTRIBUTE = re.compile(r"arn(_without_revision)?$")


@dataclass(frozen=True)
class PolicyDocument:
    """One policy attribute of one resource, as synthesized."""

    stack: str
    resource_type: str
    name: str
    attribute: str
    text: str

    @property
    def address(self) -> str:
        return f"{self.stack}/{self.resource_type}.{self.name}#{self.attribute}"


@dataclass(frozen=True)
class Finding:
    address: str
    issue: str
    detail: str
    allowed_by: AllowedFinding | None = None

    def __str__(self) -> str:
        return f"{self.address}: {self.issue} {self.detail}"


def documents(stacks: Mapping[str, dict]) -> Iterator[PolicyDocument]:
    """Every policy document in the given synthesized stacks (stack name -> cdk.tf.json)."""
    for stack, doc in stacks.items():
        for resource_type, attribute in ALL_POLICY_ATTRS.items():
            for name, body in (doc.get("resource", {}).get(resource_type) or {}).items():
                text = body.get(attribute)
                if isinstance(text, str) and text.strip():
                    yield PolicyDocument(stack, resource_type, name, attribute, text)


def load_stacks(outdir: Path) -> dict[str, dict]:
    """The synthesized stacks under `outdir` (a cdktf.out directory)."""
    found = {}
    for name in STACK_NAMES:
        path = outdir / "stacks" / name / "cdk.tf.json"
        if path.exists():
            found[name] = json.loads(path.read_text())
    return found


def resolve(text: str) -> tuple[str, list[str]]:
    """Replace every `${...}` by a placeholder of its resource type; return the unknown ones."""
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        reference = match.group(1)
        for fragment, placeholder in PLACEHOLDERS:
            if fragment in reference:
                # A name or id of the resource (`task/${cluster.name}/*`), not its ARN.
                if placeholder.startswith("arn:") and not _ARN_ATTRIBUTE.search(reference):
                    return "placeholder"
                return placeholder
        unknown.append(reference)
        return "placeholder"

    return _REFERENCE.sub(substitute, text), unknown


def _allowed(address: str, issue: str, detail: str) -> AllowedFinding | None:
    if issue == "RESOURCE_STAR" and star_only(detail):
        return AllowedFinding(issue, address, STAR_ONLY_REASON)
    for entry in ALLOWED_FINDINGS:
        if (
            entry.issue == issue
            and re.search(entry.address, address)
            and (not entry.detail or entry.detail in detail)
        ):
            return entry
    return None


def _read_array_of_arn_as_arn() -> None:
    """parliament 1.6 reads the condition type ArrayOfString as String but raises on ArrayOfARN
    (e.g. `events:TargetArn`); read it as Arn the same way, so such a condition is still checked.
    """
    import parliament.statement as statement

    original = statement.translate_documentation_types
    if getattr(original, "array_of_arn", False):
        return

    def translate(kind: str) -> str:
        return "Arn" if kind == "ArrayOfARN" else original(kind)

    translate.array_of_arn = True  # type: ignore[attr-defined]
    statement.translate_documentation_types = translate


def lint_document(document: PolicyDocument) -> list[Finding]:
    """parliament's findings on one document (trust policies: malformed/principal checks)."""
    from parliament import analyze_policy_string

    _read_array_of_arn_as_arn()

    text, unknown = resolve(document.text)
    findings = [
        Finding(document.address, "UNRESOLVED_REFERENCE", f"${{{ref}}} has no placeholder type")
        for ref in unknown
    ]
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return [*findings, Finding(document.address, "MALFORMED_JSON", str(error))]
    policy = analyze_policy_string(text)
    is_trust = document.resource_type in TRUST_POLICY_ATTRS
    for raw in policy.findings:
        # A trust policy has no Resource by definition; parliament expects one everywhere.
        if is_trust and raw.issue == "MALFORMED" and "Resource" in str(raw.detail):
            continue
        detail = (
            json.dumps(raw.detail, default=str) if not isinstance(raw.detail, str) else raw.detail
        )
        findings.append(Finding(document.address, raw.issue, detail))
    return [
        Finding(f.address, f.issue, f.detail, _allowed(f.address, f.issue, f.detail))
        for f in findings
    ]


def lint(stacks: Mapping[str, dict]) -> list[Finding]:
    """Findings over every document; those with `allowed_by` set are kept by parliament_allow."""
    return [finding for doc in documents(stacks) for finding in lint_document(doc)]


def failures(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.allowed_by is None]
