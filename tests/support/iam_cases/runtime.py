"""The runtime roles (the agent's task and execution roles, the control functions' roles) and
the read-only delivery roles: the agent reaches no key or table (issue 14's F4 and F5), the
control plane gets what a run needs, plan and image write nothing beyond their one job."""

from __future__ import annotations

from security.iam_eval.requests import Request
from tests.support.iam_cases import BOUNDARY, PREFIX, Case, allow, arn, role_arn

SECRET = arn("secretsmanager", f"secret:{PREFIX}/provider/anthropic-AbCdEf")
TABLE = arn("dynamodb", f"table/{PREFIX}")
TASK_DEFINITION = arn("ecs", f"task-definition/{PREFIX}-agent-anthropic:3")
CLUSTER = {"ecs:cluster": arn("ecs", f"cluster/{PREFIX}")}
TO_ECS = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}


def _agent() -> list[Case]:
    return [
        Case(
            "agent-reads-a-provider-key",
            "agent-task",
            Request("secretsmanager:GetSecretValue", SECRET),
            False,
            plant=allow(["secretsmanager:GetSecretValue"], SECRET),
        ),
        Case(
            "agent-writes-the-run-table",
            "agent-task",
            Request("dynamodb:UpdateItem", TABLE),
            False,
            plant=allow(["dynamodb:UpdateItem"], TABLE),
        ),
        Case(
            "agent-assumes-another-role",
            "agent-task",
            Request("sts:AssumeRole", role_arn("api")),
            False,
            plant=allow(["sts:AssumeRole"], role_arn("*")),
        ),
        Case(
            "execution-role-injects-the-key",
            "agent-execution",
            Request("secretsmanager:GetSecretValue", SECRET),
            True,
            by="ReadProviderKeys",
        ),
    ]


def _exec_sessions() -> list[Case]:
    """Only a session's task runs as `-agent-exec`; a headless run's role holds nothing."""
    # Not here: the exec role's kms:Decrypt only with the session's encryption context. The
    # evaluator drops `kms:EncryptionContext:*` keys as not applying to kms:Decrypt, so it
    # cannot judge that condition; CKV_CA_4's plants prove it instead.
    channel = "ssmmessages:OpenDataChannel"
    return [
        Case("headless-task-opens-an-exec-channel", "agent-task", Request(channel, "*"), False),
        Case(
            "session-opens-an-exec-channel",
            "agent-exec",
            Request(channel, "*"),
            True,
            by="EcsExecChannels",
        ),
        Case(
            "session-reads-a-provider-key",
            "agent-exec",
            Request("secretsmanager:GetSecretValue", SECRET),
            False,
        ),
        Case(
            "api-passes-the-exec-role-to-ecs",
            "api",
            Request("iam:PassRole", role_arn("agent-exec"), context=TO_ECS),
            True,
            by="PassAgentRoles",
        ),
        Case(
            "api-passes-the-exec-role-to-lambda",
            "api",
            Request(
                "iam:PassRole",
                role_arn("agent-exec"),
                context={"iam:PassedToService": "lambda.amazonaws.com"},
            ),
            False,
        ),
        Case(
            "api-passes-the-deploy-role",
            "api",
            Request("iam:PassRole", role_arn("github-deploy"), context=TO_ECS),
            False,
        ),
    ]


def _control_plane() -> list[Case]:
    return [
        Case(
            "api-runs-an-agent-task",
            "api",
            Request("ecs:RunTask", TASK_DEFINITION, context=CLUSTER),
            True,
            by="RunAgentTask",
        ),
        Case(
            "api-runs-a-task-on-another-cluster",
            "api",
            Request(
                "ecs:RunTask", TASK_DEFINITION, context={"ecs:cluster": arn("ecs", "cluster/other")}
            ),
            False,
            plant=allow(["ecs:RunTask"], TASK_DEFINITION),
        ),
        Case(
            "api-passes-the-task-role-to-ecs",
            "api",
            Request("iam:PassRole", role_arn("agent-task"), context=TO_ECS),
            True,
            by="PassAgentRoles",
        ),
        Case(
            "api-passes-the-task-role-to-lambda",
            "api",
            Request(
                "iam:PassRole",
                role_arn("agent-task"),
                context={"iam:PassedToService": "lambda.amazonaws.com"},
            ),
            False,
            plant=allow(["iam:PassRole"], role_arn("agent-task")),
        ),
        Case(
            "api-reads-a-provider-key",
            "api",
            Request("secretsmanager:GetSecretValue", SECRET),
            False,
            plant=allow(["secretsmanager:GetSecretValue"], SECRET),
        ),
        Case(
            "api-checks-a-provider-key",
            "api",
            Request("secretsmanager:DescribeSecret", SECRET),
            True,
            by="CheckProviderKeys",
        ),
        Case(
            "admin-sets-a-provider-key",
            "admin",
            Request("secretsmanager:PutSecretValue", SECRET),
            True,
            by="SetProviderKeys",
        ),
        Case(
            "admin-reads-a-provider-key",
            "admin",
            Request("secretsmanager:GetSecretValue", SECRET),
            False,
            plant=allow(["secretsmanager:GetSecretValue"], SECRET),
        ),
    ]


def _delivery() -> list[Case]:
    repository = arn("ecr", f"repository/{PREFIX}-agent")
    return [
        Case(
            "plan-writes-the-table",
            "github-plan",
            Request("dynamodb:DeleteTable", TABLE),
            False,
            plant=allow(["dynamodb:DeleteTable"], TABLE),
        ),
        Case(
            "plan-creates-a-role",
            "github-plan",
            Request(
                "iam:CreateRole",
                role_arn("backdoor"),
                context={"iam:PermissionsBoundary": BOUNDARY},
            ),
            False,
            plant=allow(["iam:CreateRole"], role_arn("*")),
        ),
        Case(
            "image-pushes-the-agent-image",
            "github-image",
            Request("ecr:PutImage", repository),
            True,
            by="PushAgentImage",
        ),
        Case(
            "image-pushes-elsewhere",
            "github-image",
            Request("ecr:PutImage", arn("ecr", "repository/other")),
            False,
            plant=allow(["ecr:PutImage"], arn("ecr", "repository/*")),
        ),
    ]


CASES = [*_agent(), *_exec_sessions(), *_control_plane(), *_delivery()]
