"""The one way this project writes IAM: statements checked for wildcards before synth.

Operators read every statement we emit, so a wildcard must never slip in by accident. Every
policy goes through `policy_json`, which refuses `*` and `service:*` actions (and any action
containing `*`) and refuses `Resource: "*"` unless every action in the statement is one AWS only
accepts at `*` (listed with its reason in `star_only_actions.py`). Policies attach as separate
`aws_iam_role_policy` resources because Checkov does not read `inline_policy` blocks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from stacks.shared.arns import Arns
from stacks.shared.constants import GITHUB_OIDC_HOST, STS_AUDIENCE
from stacks.shared.star_only_actions import STAR_ONLY_ACTIONS

_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")


class PolicyError(ValueError):
    """A statement would grant more than it names; the message names the statement."""


@dataclass(frozen=True)
class Statement:
    """One IAM statement. `sid` is required: it is how reviewers and errors refer to it."""

    sid: str
    actions: Sequence[str]
    resources: Sequence[str]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"

    def check(self) -> None:
        where = f"statement '{self.sid}'"
        if not re.fullmatch(r"[A-Za-z0-9]+", self.sid):
            raise PolicyError(f"{where}: Sid must be alphanumeric")
        if not self.actions:
            raise PolicyError(f"{where}: names no action")
        if not self.resources:
            raise PolicyError(f"{where}: names no resource")
        for action in self.actions:
            if action == "*":
                raise PolicyError(f"{where}: Action '*' grants every action; name them")
            if action.endswith(":*"):
                raise PolicyError(f"{where}: '{action}' grants a whole service; name the actions")
            if "*" in action:
                raise PolicyError(f"{where}: '{action}' is a wildcard action; name the actions")
            if not _ACTION.match(action):
                raise PolicyError(f"{where}: '{action}' is not of the form service:Action")
        for resource in self.resources:
            if resource == "*":
                loose = [a for a in self.actions if a not in STAR_ONLY_ACTIONS]
                if loose:
                    raise PolicyError(
                        f"{where}: Resource '*' with {', '.join(loose)}, which can be scoped "
                        "to an ARN (only actions in stacks/shared/star_only_actions.py may use '*')"
                    )
            elif resource.strip() in ("", "arn:*", "arn:aws:*"):
                raise PolicyError(f"{where}: resource '{resource}' matches everything")

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": sorted(set(self.actions)) if len(self.actions) > 1 else self.actions[0],
            "Resource": list(self.resources) if len(self.resources) > 1 else self.resources[0],
        }
        if self.conditions:
            body["Condition"] = {k: dict(v) for k, v in self.conditions.items()}
        return body


def policy_json(statements: Iterable[Statement]) -> str:
    """Render a policy document, refusing any statement that grants more than it names."""
    rendered = []
    seen: set[str] = set()
    for statement in statements:
        statement.check()
        if statement.sid in seen:
            raise PolicyError(f"statement '{statement.sid}': Sid used twice in one policy")
        seen.add(statement.sid)
        rendered.append(statement.as_dict())
    if not rendered:
        raise PolicyError("a policy needs at least one statement")
    return json.dumps({"Version": "2012-10-17", "Statement": rendered})


def folded_statements(statements: Iterable[Statement]) -> list[Statement]:
    """Join statements that differ only in actions: same meaning, fewer characters.

    An inline role policy may hold 10,240 characters; the deploy role comes close.
    """
    folded: dict[tuple, Statement] = {}
    for s in statements:
        key = (s.effect, tuple(s.resources), json.dumps(s.conditions, sort_keys=True))
        if key in folded:
            first = folded[key]
            actions = sorted(set(first.actions) | set(s.actions))
            folded[key] = Statement(
                sid=first.sid,
                actions=actions,
                resources=first.resources,
                conditions=first.conditions,
                effect=first.effect,
            )
        else:
            folded[key] = s
    return list(folded.values())


def service_trust_json(
    service: str, conditions: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """Trust policy for an AWS service principal (e.g. ecs-tasks.amazonaws.com)."""
    statement: dict[str, Any] = {
        "Sid": "AssumedByService",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = {k: dict(v) for k, v in conditions.items()}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def github_oidc_trust_json(provider_arn: str, subject: str, operator: str = "StringEquals") -> str:
    """Trust GitHub Actions tokens meant for STS from exactly one subject, nothing else.

    `aud` is always `StringEquals`. So is `sub`, so a subject can only match itself (a wildcard
    would be read literally by AWS, and is refused here so nobody believes it widens the trust),
    except the one subject no exact value can name: a pull request's, under the `workflow`
    template, whose ref carries the pull request's number (`@refs/pull/<n>/merge`). That one is
    `StringLike` with a single `*`, standing for the number, at the end of a `:pull_request:`
    subject (stacks/shared/github_subjects.py).
    """
    pull_request = subject.split(":")[2:3] == ["pull_request"]  # repo:ORG/REPO:pull_request...
    if not subject.startswith("repo:") or "?" in subject:
        raise PolicyError(f"GitHub OIDC subject '{subject}' must be one exact repo:... subject")
    if operator == "StringEquals" and "*" in subject:
        raise PolicyError(f"GitHub OIDC subject '{subject}' must be one exact repo:... subject")
    if operator == "StringLike" and not (
        pull_request and subject.count("*") == 1 and subject.endswith("@refs/pull/*/merge")
    ):
        raise PolicyError(
            f"GitHub OIDC subject '{subject}': StringLike only for a pull request's number"
        )
    if operator not in ("StringEquals", "StringLike"):
        raise PolicyError(f"GitHub OIDC trust: operator {operator} is neither")
    conditions: dict[str, dict[str, str]] = {
        "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE}
    }
    conditions.setdefault(operator, {})[f"{GITHUB_OIDC_HOST}:sub"] = subject
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GitHubPullRequestsOnly" if pull_request else "GitHubEnvironmentOnly",
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": conditions,
                }
            ],
        }
    )


# --- Permissions boundary: every role the stacks create carries the project's boundary. ---
# The deploy role may create roles only with it attached, so nothing it creates (or rewrites)
# can exceed it. The boundary itself lives in `foundation` (stacks/foundation/github/boundary.py).


_STACK_BOUNDARY = "_cloudagent_permissions_boundary"


def set_stack_boundary(scope: Construct, arn: str) -> None:
    """Make `arn` the boundary of every later `role_with_policy` in this stack.

    `foundation` registers the boundary policy resource's own ARN, so its roles depend on the
    policy and Terraform creates it first; other stacks fall back to the ARN by name.
    """
    setattr(TerraformStack.of(scope), _STACK_BOUNDARY, arn)


def stack_boundary_arn(scope: Construct) -> str:
    """The boundary for roles in `scope`'s stack: the registered one, else computed by name."""
    stack = TerraformStack.of(scope)
    arn = getattr(stack, _STACK_BOUNDARY, None)
    if arn is None:
        arns = getattr(stack, "arns", None)
        if not isinstance(arns, Arns):
            raise PolicyError(
                "role_with_policy: no permissions boundary given and the stack has no ARNs"
            )
        arn = arns.boundary
        setattr(stack, _STACK_BOUNDARY, arn)
    return arn


def role_with_policy(
    scope: Construct,
    id: str,
    *,
    name: str,
    description: str,
    trust_policy: str,
    statements: Sequence[Statement],
    max_session_duration: int | None = None,
    permissions_boundary: str | None = None,
    bounded: bool = True,
) -> IamRole:
    """A role plus its permissions as a separate `aws_iam_role_policy` (readable by Checkov).

    Every role carries the project's permissions boundary: `permissions_boundary` when given,
    otherwise the stack's (`stack_boundary_arn`), so no caller can forget it. `bounded=False`
    is for the one role that cannot carry it (the GitHub deploy role; see
    stacks/foundation/github/boundary.py).
    """
    if not bounded:
        if permissions_boundary is not None:
            raise PolicyError(f"role '{name}': bounded=False with a permissions boundary")
    elif permissions_boundary is None:
        permissions_boundary = stack_boundary_arn(scope)
    role = IamRole(
        scope,
        id,
        name=name,
        description=description,
        assume_role_policy=trust_policy,
        max_session_duration=max_session_duration,
        permissions_boundary=permissions_boundary,
    )
    IamRolePolicy(
        scope,
        f"{id}_policy",
        name=f"{name}-policy",
        role=role.id,
        policy=policy_json(statements),
    )
    return role


def role_without_policy(
    scope: Construct, id: str, *, name: str, description: str, trust_policy: str
) -> IamRole:
    """A role that may do nothing: no inline policy, no managed policy, the stack's boundary.

    For a principal that must hold credentials but no permission (the headless agent task:
    ECS gives every task its task role's credentials, and the agent runs model-chosen
    commands). A later statement has to come through `role_with_policy`, in review.
    """
    return IamRole(
        scope,
        id,
        name=name,
        description=description,
        assume_role_policy=trust_policy,
        permissions_boundary=stack_boundary_arn(scope),
    )
