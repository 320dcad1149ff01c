"""CKV_CA_4: a headless run's agent may do nothing; a session's agent only ECS Exec.

The agent runs model-chosen tool calls with its task role's credentials, so that role is the
most exposed identity in the deployment. Two roles:

* the task role of every agent task definition (`<project>-<env>-agent-task`), which a headless
  run keeps: **no policy at all** — any inline policy or managed policy on it fails, and so does
  a task definition whose task role is any other role;
* the exec role (`...-agent-exec`), which only a session names (RunTask's
  `overrides.taskRoleArn`): the ECS Exec channels, the session log group (writes, and the
  existence check `logs:DescribeLogGroups`), and `kms:Decrypt` on the project key **only** with
  the SSM session's encryption context (`kms:EncryptionContext:aws:ssm:SessionId` present) —
  the SSM agent decrypts the session key itself, so that context, not `kms:ViaService`, is what
  tells a session key from the rest of the key's ciphertext. Nothing else: Secrets Manager
  fails outright (ECS injects the run's one key with the execution role), as does DynamoDB (the
  result travels in the log stream; with write access the agent could forge other runs), S3,
  IAM, STS or Organizations (exfiltration, escalation, other accounts), any other service or
  action, a wildcard ARN, or a managed policy.

Roles are found by name (`security.checklib`), policies by the `<role>-policy` name
`stacks.shared.iam.role_with_policy` gives them or by their `role`; the task definitions' task
role by its reference (`aws_iam_role.task_role`) or, once applied, its name.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import (
    AGENT_EXEC_POLICY_NAME,
    AGENT_EXEC_ROLE_NAME,
    AGENT_TASK_POLICY_NAME,
    AGENT_TASK_ROLE_NAME,
    ProjectCheck,
    Statement,
    Unknown,
    attr,
    policy_statements,
    service_of,
)
from stacks.shared.constants import EXEC_SESSION_CONTEXT_KEY, PROJECT

# service -> why the agent never gets it.
FORBIDDEN_SERVICES = {
    "secretsmanager": "ECS injects the run's key with the execution role",
    "dynamodb": "the result travels in the log stream; the table is the control plane's",
    "s3": "exfiltration",
    "iam": "privilege escalation",
    "sts": "other roles and accounts",
    "organizations": "other accounts",
}

# action -> the form every resource of it must have: ECS Exec's needs, nothing more.
_P = re.escape(PROJECT)
_KEY = re.compile(r"^arn:[^:]+:kms:[^:]+:\d+:key/[0-9a-f-]+$|aws_kms_key")
_EXEC_LOG = re.compile(
    rf"^arn:[^:]+:logs:[^:]+:\d+:log-group:/{_P}/[^*]+(:log-stream:\*)?$|aws_cloudwatch_log_group"
)
_STAR = re.compile(r"^\*$")
EXEC_ACTIONS: dict[str, re.Pattern[str]] = {
    "kms:Decrypt": _KEY,
    "ssmmessages:CreateControlChannel": _STAR,
    "ssmmessages:CreateDataChannel": _STAR,
    "ssmmessages:OpenControlChannel": _STAR,
    "ssmmessages:OpenDataChannel": _STAR,
    "logs:DescribeLogGroups": _STAR,
    "logs:CreateLogStream": _EXEC_LOG,
    "logs:DescribeLogStreams": _EXEC_LOG,
    "logs:PutLogEvents": _EXEC_LOG,
}
# How a task definition may name its task role: the headless one, by reference or by name.
_HEADLESS_REFERENCE = re.compile(r"(^|\$\{)aws_iam_role\.task_role\.")


def _role_of(conf: dict[str, Any], entity_type: str) -> str | None:
    """'task' or 'exec' when the policy or attachment belongs to one of the agent's roles."""
    name = str(attr(conf, "name", "") or "")
    if entity_type == "aws_iam_role_policy":
        if AGENT_TASK_POLICY_NAME.match(name):
            return "task"
        if AGENT_EXEC_POLICY_NAME.match(name):
            return "exec"
    role = str(attr(conf, "role", "") or "").rsplit("/", 1)[-1]
    if AGENT_TASK_ROLE_NAME.match(role) or "aws_iam_role.task_role." in role:
        return "task"
    if AGENT_EXEC_ROLE_NAME.match(role) or "aws_iam_role.exec_role." in role:
        return "exec"
    return None


def _session_key_only(statement: Statement) -> bool:
    """The statement requires the SSM session's encryption context to be present."""
    null = statement.conditions.get("Null") or {}
    return str(null.get(EXEC_SESSION_CONTEXT_KEY, "")).lower() == "false"


def exec_policy_problems(statements: list[Statement]) -> list[str]:
    """What in the exec role's policy goes beyond ECS Exec."""
    found: list[str] = []
    for statement in statements:
        if not statement.allows:
            continue
        if statement.not_actions or statement.not_resources:
            found.append(f"{statement.name}: NotAction/NotResource on the agent's exec role")
        for action in statement.actions:
            service = service_of(action)
            if service in FORBIDDEN_SERVICES:
                why = FORBIDDEN_SERVICES[service]
                found.append(f"{statement.name}: '{action}' is never for the agent ({why})")
                continue
            if action not in EXEC_ACTIONS:
                found.append(f"{statement.name}: '{action}' is not an action ECS Exec needs")
                continue
            if service == "kms" and not _session_key_only(statement):
                found.append(
                    f"{statement.name}: '{action}' without the SSM session's encryption context "
                    f"(Null {EXEC_SESSION_CONTEXT_KEY} = false): any ciphertext of the key"
                )
            for resource in statement.resources:
                if not EXEC_ACTIONS[action].search(resource):
                    found.append(
                        f"{statement.name}: '{action}' on '{resource}' is not an ECS Exec resource"
                    )
    return found


class AgentTaskRoleLeastPrivilege(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Agent task roles: a headless run's holds no policy at all; a session's exec "
            "role reaches only ECS Exec (channels, session log, the session key by its "
            "encryption context): no Secrets Manager, DynamoDB, S3, IAM, STS, no managed policies",
            id="CKV_CA_4",
            resources=[
                "aws_iam_role_policy",
                "aws_iam_role_policy_attachment",
                "aws_iam_policy_attachment",
                "aws_ecs_task_definition",
            ],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if self.entity_type == "aws_ecs_task_definition":
            return self._task_definition_problems(conf)
        if self.entity_type == "aws_iam_policy_attachment":
            roles = [str(r) for r in (attr(conf, "roles") or [])]
            if any(AGENT_TASK_ROLE_NAME.match(r) or AGENT_EXEC_ROLE_NAME.match(r) for r in roles):
                return ["a managed policy is attached to an agent task role"]
            raise Unknown("not attached to an agent task role")
        role = _role_of(conf, self.entity_type)
        if role is None:
            raise Unknown("not an agent task role")
        if self.entity_type == "aws_iam_role_policy_attachment":
            return [f"a managed policy is attached to the agent's {role} role"]
        if role == "task":
            return [
                "the headless task role holds a policy: a headless run's agent may do nothing "
                "(ECS Exec belongs to the exec role, which only sessions run as)"
            ]
        return exec_policy_problems(policy_statements(conf, self.entity_type))

    def _task_definition_problems(self, conf: dict[str, Any]) -> list[str]:
        """Every task starts with its definition's task role: it must be the empty one."""
        role = attr(conf, "task_role_arn")
        if role is None or str(role) == "":
            return []  # no task role: no credentials at all
        text = str(role)
        if _HEADLESS_REFERENCE.search(text) or AGENT_TASK_ROLE_NAME.match(text.rsplit("/")[-1]):
            return []
        return [
            f"task_role_arn '{text}' is not the headless task role (`<prefix>-agent-task`): "
            "every task of this definition, headless runs included, would hold its rights"
        ]


check = AgentTaskRoleLeastPrivilege()
