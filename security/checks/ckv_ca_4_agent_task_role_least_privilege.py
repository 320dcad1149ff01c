"""CKV_CA_4: the agent's task role reaches only its keys, the run table and ECS Exec.

The agent runs model-chosen tool calls with this role's credentials, so it is the most exposed
identity in the deployment. It may read the five provider-key secrets, read/write the one table
(and its index), use the project key for them, open the ECS Exec channels and write the ECS Exec
session log — nothing else. Any S3, IAM, STS or Organizations action fails outright (data
exfiltration, privilege escalation, other accounts), as does any other service, a second table,
more secrets than providers, a wildcard ARN, or a managed policy attached to the role.

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
from stacks.shared.constants import PROJECT, PROVIDERS

FORBIDDEN_SERVICES = ("s3", "iam", "sts", "organizations")

# service -> (actions the agent may use, what each resource must be: an ARN or a reference)
_P = re.escape(PROJECT)
ALLOWED: dict[str, tuple[frozenset[str], re.Pattern[str]]] = {
    "secretsmanager": (
        frozenset({"GetSecretValue", "DescribeSecret"}),
        re.compile(
            rf"^arn:[^:]+:secretsmanager:[^:]+:\d+:secret:{_P}-[^*?]+$|aws_secretsmanager_secret"
        ),
    ),
    "dynamodb": (
        frozenset(
            {
                "ConditionCheckItem",
                "DeleteItem",
                "GetItem",
                "PutItem",
                "Query",
                "UpdateItem",
                "BatchGetItem",
                "BatchWriteItem",
            }
        ),
        re.compile(
            rf"^arn:[^:]+:dynamodb:[^:]+:\d+:table/{_P}-[a-z0-9-]+(/index/[A-Za-z0-9_.-]+)?$"
            r"|aws_dynamodb_table"
        ),
    ),
    "kms": (
        frozenset({"Decrypt", "GenerateDataKey"}),
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
            name="Agent task role touches only its provider-key secrets, the run table (+index), "
            "the project key and ECS Exec; no S3/IAM/STS/Organizations, no managed policies",
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
        secrets: set[str] = set()
        tables: set[str] = set()
        for statement in policy_statements(conf, self.entity_type):
            if not statement.allows:
                continue
            if statement.not_actions or statement.not_resources:
                found.append(f"{statement.name}: NotAction/NotResource on the agent task role")
            for action in statement.actions:
                service = service_of(action)
                if service in FORBIDDEN_SERVICES:
                    found.append(f"{statement.name}: '{action}' ({service} is never for the agent)")
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
                    elif service == "secretsmanager":
                        secrets.add(resource)
                    elif service == "dynamodb":
                        tables.add(resource.split("/index/", 1)[0])
        if len(secrets) > len(PROVIDERS):
            found.append(f"{len(secrets)} secrets; the agent has {len(PROVIDERS)} provider keys")
        if len(tables) > 1:
            found.append(f"{len(tables)} tables; the agent has one ({sorted(tables)})")
        return found


check = AgentTaskRoleLeastPrivilege()
