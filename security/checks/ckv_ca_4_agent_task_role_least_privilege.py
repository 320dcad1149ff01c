"""CKV_CA_4: the agent's task role reaches the ECS Exec channels and nothing else.

The agent runs model-chosen tool calls with this role's credentials, so it is the most exposed
identity in the deployment. It may open the ECS Exec channels, write the ECS Exec session log
and decrypt with the project key (the sessions are encrypted with it) — nothing else. Secrets
Manager fails outright (ECS injects the run's one key with the execution role; with read access
the agent could read every provider's key), as does DynamoDB (the result travels in the log
stream; with write access the agent could forge other runs or block every run with the
concurrency counter), and S3, IAM, STS or Organizations (exfiltration, escalation, other
accounts); so does any other service, a wildcard ARN, or a managed policy on the role.

The role is found by name (`<project>-<env>-agent-task`, see `security.checklib`), its inline
policy by the `<role>-policy` name `stacks.shared.iam.role_with_policy` gives it or by its `role`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    AGENT_TASK_POLICY_NAME,
    AGENT_TASK_ROLE_NAME,
    ProjectCheck,
    Unknown,
    attr,
    policy_statements,
    service_of,
)
from stacks.shared.constants import PROJECT

# service -> why the agent never gets it.
FORBIDDEN_SERVICES = {
    "secretsmanager": "ECS injects the run's key with the execution role",
    "dynamodb": "the result travels in the log stream; the table is the control plane's",
    "s3": "exfiltration",
    "iam": "privilege escalation",
    "sts": "other roles and accounts",
    "organizations": "other accounts",
}

# service -> (actions the agent may use, what each resource must be: an ARN or a reference)
_P = re.escape(PROJECT)
ALLOWED: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    "kms": (
        frozenset({"Decrypt"}),
        re.compile(r"^arn:[^:]+:kms:[^:]+:\d+:key/[0-9a-f-]+$|aws_kms_key"),
    ),
    "ssmmessages": (
        frozenset(
            {"CreateControlChannel", "CreateDataChannel", "OpenControlChannel", "OpenDataChannel"}
        ),
        re.compile(r"^\*$"),
    ),
    "logs": (
        frozenset({"CreateLogStream", "DescribeLogStreams", "PutLogEvents"}),
        re.compile(
            rf"^arn:[^:]+:logs:[^:]+:\d+:log-group:/{_P}/[^*]+(:log-stream:\*)?$"
            r"|aws_cloudwatch_log_group"
        ),
    ),
}


def _is_task_role(conf: dict[str, Any], entity_type: str) -> bool:
    role = str(attr(conf, "role", "") or "")
    name = str(attr(conf, "name", "") or "")
    if entity_type == "aws_iam_role_policy" and AGENT_TASK_POLICY_NAME.match(name):
        return True
    return bool(AGENT_TASK_ROLE_NAME.match(role.rsplit("/", 1)[-1]))


class AgentTaskRoleLeastPrivilege(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Agent task role reaches only ECS Exec (channels, session log, the key that "
            "encrypts it): no Secrets Manager, DynamoDB, S3, IAM, STS, Organizations, no "
            "managed policies",
            id="CKV_CA_4",
            resources=[
                "aws_iam_role_policy",
                "aws_iam_role_policy_attachment",
                "aws_iam_policy_attachment",
            ],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if self.entity_type == "aws_iam_policy_attachment":
            roles = [str(r) for r in (attr(conf, "roles") or [])]
            if any(AGENT_TASK_ROLE_NAME.match(r) for r in roles):
                return ["a managed policy is attached to the agent task role"]
            raise Unknown("not attached to the agent task role")
        if not _is_task_role(conf, self.entity_type):
            raise Unknown("not the agent task role")
        if self.entity_type == "aws_iam_role_policy_attachment":
            return ["a managed policy is attached to the agent task role"]
        found: list[str] = []
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows:
                continue
            if statement.not_actions or statement.not_resources:
                found.append(f"{statement.name}: NotAction/NotResource on the agent task role")
            for action in statement.actions:
                service = service_of(action)
                if service in FORBIDDEN_SERVICES:
                    why = FORBIDDEN_SERVICES[service]
                    found.append(f"{statement.name}: '{action}' is never for the agent ({why})")
                    continue
                if service not in ALLOWED:
                    found.append(f"{statement.name}: '{action}' is outside the agent's services")
                    continue
                actions, resource_form = ALLOWED[service]
                if action.split(":", 1)[1] not in actions:
                    found.append(f"{statement.name}: '{action}' is not an action the agent needs")
                for resource in statement.resources:
                    if not resource_form.search(resource):
                        found.append(
                            f"{statement.name}: '{action}' on '{resource}' is not an agent resource"
                        )
        return found


check = AgentTaskRoleLeastPrivilege()
