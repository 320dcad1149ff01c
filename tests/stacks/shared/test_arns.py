"""One environment's permission scopes never match another environment's resources."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest

from stacks.foundation.github import (
    boundary_statements,
    deploy_statements,
    image_statements,
    plan_statements,
)
from stacks.foundation.github.tagged import network_statements, tagged_statements
from stacks.shared.arns import Arns
from stacks.shared.setting_loader import load_settings

ACCOUNT = "123456789012"


def arns_for(env: str) -> Arns:
    return Arns(settings=load_settings(environ={"CLOUDAGENT_ENV_NAME": env}), account=ACCOUNT)


def resources_of(arns: Arns) -> list[str]:
    """Concrete ARNs of one environment's resources, named as the stacks name them."""
    p = arns.prefix
    log_prefix = arns.settings.log_group_prefix
    return [
        arns.role(f"{p}-api"),
        arns.role(f"{p}-agent-task"),
        arns.role(f"{p}-github-deploy"),
        arns.arn("iam", f"policy/{p}-boundary", region=""),
        arns.arn("dynamodb", f"table/{p}"),
        arns.arn("dynamodb", f"table/{p}/index/by_time"),
        arns.arn("secretsmanager", f"secret:{p}/provider/openai-AbCdEf"),
        arns.arn("kms", f"alias/{p}"),
        arns.log_group(f"{log_prefix}/agent"),
        arns.log_group(f"{log_prefix}/agent") + ":log-stream:agent/agent/1",
        arns.log_group(f"aws-waf-logs-{p}", region="us-east-1"),
        arns.arn("ecs", f"cluster/{p}"),
        arns.arn("ecs", f"task/{p}/0123"),
        arns.arn("ecs", f"task-definition/{p}-agent-openai:3"),
        arns.repository(f"{p}-agent"),
        arns.arn("lambda", f"function:{p}-api"),
        arns.arn("events", f"rule/{p}-task-state"),
        arns.arn("wafv2", f"global/webacl/{p}/abc", region="us-east-1"),
        arns.artifact_bucket,
        f"{arns.artifact_bucket}/sessions/run_01.jsonl",
    ]


def patterns_of(arns: Arns) -> list[str]:
    statements = [
        *plan_statements(arns),
        *deploy_statements(arns),
        *tagged_statements(arns),
        *network_statements(arns, "sg-0123456789abcdef0"),
        *image_statements(arns.repository(f"{arns.prefix}-agent")),
        *boundary_statements(arns, arns.repository(f"{arns.prefix}-agent")),
    ]
    return [
        r
        for s in statements
        if s.effect == "Allow"
        for r in s.resources
        if (r != "*" and f":{ACCOUNT}:" in r)
        or r.startswith((f"arn:aws:iam::{ACCOUNT}", "arn:aws:s3:::"))
    ]


@pytest.mark.parametrize(("mine", "theirs"), [("dev", "dev2"), ("dev2", "dev"), ("a", "ab")])
def test_no_scope_of_one_environment_matches_another(mine: str, theirs: str) -> None:
    patterns = patterns_of(arns_for(mine))
    others = resources_of(arns_for(theirs))
    leaks = [(p, r) for p in patterns for r in others if fnmatchcase(r, p)]
    assert leaks == []


def test_each_environment_scopes_match_its_own_resources() -> None:
    """The check above is not vacuous: every resource is within its own environment's scopes."""
    arns = arns_for("dev")
    patterns = patterns_of(arns)
    unmatched = [r for r in resources_of(arns) if not any(fnmatchcase(r, p) for p in patterns)]
    assert unmatched == []
