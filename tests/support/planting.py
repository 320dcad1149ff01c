"""Violations planted in copies of the real synthesized stacks, one per guarantee.

Each `Plant` names a real resource in the synth (by type and a predicate) and how to break it.
When the synth has no such resource yet, `template` is a minimal compliant block added to a copy
of the real stack instead, so the case is real today and runs on the real resource once it
lands. Every case names the project check that must fail and a fragment of its reason.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stacks.shared.constants import (
    AGENT_CONTAINER_NAME,
    GITHUB_OIDC_HOST,
    MODEL_PROXY_CONTAINER_NAME,
    REPO_INIT_CONTAINER_NAME,
    STS_AUDIENCE,
)
from stacks.shared.github_subjects import role_trust
from stacks.shared.setting_loader import load_settings

SUB = f"{GITHUB_OIDC_HOST}:sub"
AUD = f"{GITHUB_OIDC_HOST}:aud"

Body = dict[str, Any]


@dataclass(frozen=True)
class Plant:
    case: str
    check: str
    stack: str
    resource_type: str
    select: Callable[[str, Body], bool]
    mutate: Callable[[Body], None]
    detail: str
    template: Body | None = None


def edit_json(key: str, change: Callable[[Any], object]) -> Callable[[Body], None]:
    """A mutation, in place, of a JSON-string attribute (policy, container_definitions)."""

    def mutate(body: Body) -> None:
        value = json.loads(body[key])
        change(value)  # edits `value` in place; what it returns is ignored
        body[key] = json.dumps(value)

    return mutate


def set_attr(key: str, value: Any) -> Callable[[Body], None]:
    return lambda body: body.__setitem__(key, value)


def del_attr(key: str) -> Callable[[Body], None]:
    return lambda body: body.pop(key, None)


# --- selectors over the real synth -----------------------------------------------------------


def github_trust(_: str, body: Body) -> bool:
    return GITHUB_OIDC_HOST in body.get("assume_role_policy", "")


def agent_exec_policy(_: str, body: Body) -> bool:
    """The exec role's policy: the one agent role with a policy (sessions run as it)."""
    return str(body.get("name", "")).endswith("-agent-exec-policy")


def _moved_to_the_headless_role(body: Body) -> None:
    """The exec role's statements given to the headless task role instead (ECS Exec rights
    during headless runs: the finding this guards)."""
    body["name"] = str(body["name"]).replace("-agent-exec-policy", "-agent-task-policy")
    body["role"] = "${aws_iam_role.task_role.id}"


def endpoint_of(service: str) -> Callable[[str, Body], bool]:
    """The gateway endpoint of `service` (`com.amazonaws.<region>.<service>`)."""
    return lambda _, body: str(body.get("service_name", "")).endswith(f".{service}")


S3_ENDPOINT = endpoint_of("s3")
DYNAMODB_ENDPOINT = endpoint_of("dynamodb")


def _add_action(action: str) -> Callable[[dict], None]:
    return lambda statement: statement.__setitem__("Action", [*statement["Action"], action])


def _replace_condition(condition: dict) -> Callable[[dict], None]:
    return lambda statement: statement.__setitem__("Condition", condition)


def any_resource(_: str, __: Body) -> bool:
    return True


def with_attr(key: str) -> Callable[[str, Body], bool]:
    return lambda _, body: key in body


# --- mutations -------------------------------------------------------------------------------


def trust_conditions(change: Callable[[dict], None]) -> Callable[[Body], None]:
    def apply(policy: dict) -> None:
        for statement in policy["Statement"]:
            if GITHUB_OIDC_HOST in json.dumps(statement):
                change(statement)

    return edit_json("assume_role_policy", apply)


def _string_like(statement: dict) -> None:
    equals = statement["Condition"]["StringEquals"]
    statement["Condition"]["StringLike"] = {SUB: equals.pop(SUB)}


def _extra_subject(statement: dict) -> None:
    subject = role_trust(load_settings(), "admin").subject
    statement["Condition"]["StringEquals"][SUB] = [subject, "repo:someone/else:ref:refs/heads/main"]


def _wildcard_subject(statement: dict) -> None:
    repo = load_settings().github_repo
    statement["Condition"]["StringEquals"][SUB] = f"repo:{repo}:*"


def _pull_request_subject(statement: dict) -> None:
    statement["Condition"]["StringEquals"][SUB] = role_trust(load_settings(), "plan").subject


def _environment_subject(statement: dict) -> None:
    statement["Condition"]["StringEquals"][SUB] = role_trust(load_settings(), "deploy").subject


def _any_workflow_of_the_environment(statement: dict) -> None:
    """GitHub's default subject: every workflow file and branch the environment admits."""
    settings = load_settings()
    subject = f"repo:{settings.github_repo}:environment:{settings.github_environment}"
    statement["Condition"]["StringEquals"][SUB] = subject


def _any_pull_request_job(statement: dict) -> None:
    like = statement["Condition"]["StringLike"]
    like[SUB] = like[SUB].split(":job_workflow_ref:")[0] + ":*"


def role_named(suffix: str) -> Callable[[str, Body], bool]:
    return lambda _, body: str(body.get("name", "")).endswith(suffix)


def service_trust(change: Callable[[dict], None]) -> Callable[[Body], None]:
    """A mutation of the trust statements that name an AWS service principal."""

    def apply(policy: dict) -> None:
        for statement in policy["Statement"]:
            if "Service" in statement.get("Principal", {}):
                change(statement)

    return edit_json("assume_role_policy", apply)


def _missing_aud(statement: dict) -> None:
    statement["Condition"]["StringEquals"].pop(AUD)


def _no_condition(statement: dict) -> None:
    statement.pop("Condition")


def add_statement(statement: dict) -> Callable[[Body], None]:
    return edit_json("policy", lambda policy: policy["Statement"].append(statement))


def in_container(name: str, change: Callable[[dict], None]) -> Callable[[Body], None]:
    """Change the one container `name` of a task definition (it must be there)."""

    def apply(containers: list[dict]) -> None:
        (container,) = [c for c in containers if c["name"] == name]
        change(container)

    return edit_json("container_definitions", apply)


def agent_container(change: Callable[[dict], None]) -> Callable[[Body], None]:
    return in_container(AGENT_CONTAINER_NAME, change)


def proxy_container(change: Callable[[dict], None]) -> Callable[[Body], None]:
    return in_container(MODEL_PROXY_CONTAINER_NAME, change)


def repo_init_container(change: Callable[[dict], None]) -> Callable[[Body], None]:
    return in_container(REPO_INIT_CONTAINER_NAME, change)


def repo_family(_: str, body: Body) -> bool:
    """A `-repo` task definition: the one with repo-init."""
    return str(body.get("family", "")).endswith("-repo")


def _move_key_to_agent(containers: list[dict]) -> None:
    by_name = {c["name"]: c for c in containers}
    by_name[AGENT_CONTAINER_NAME]["secrets"] = by_name[MODEL_PROXY_CONTAINER_NAME].pop("secrets")


def _add_secret(name: str, value_from: str) -> Callable[[dict], None]:
    return lambda c: c.setdefault("secrets", []).append({"name": name, "valueFrom": value_from})


def _rename_secret(name: str) -> Callable[[dict], None]:
    return lambda c: c["secrets"][0].__setitem__("name", name)


REPO_TOKEN_ARN = "arn:aws:secretsmanager:us-east-1:1:secret:cloudagent-dev/repo-token-AbCdEf"
KEY_ARN = "arn:aws:secretsmanager:us-east-1:1:secret:cloudagent-dev/provider/anthropic-AbCdEf"


def _drop_rule(group: str) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        body["rule"] = [r for r in body["rule"] if r["name"] != group]

    return mutate


def _count_rule(group: str) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        for rule in body["rule"]:
            if rule["name"] == group:
                rule["override_action"] = {"count": {}}

    return mutate


def _override_rule(group: str, rule: str, action: str = "count") -> Callable[[Body], None]:
    """Add a `rule_action_override` of one rule inside one managed group."""

    def mutate(body: Body) -> None:
        for block in body["rule"]:
            managed = block["statement"].get("managed_rule_group_statement", {})
            if managed.get("name") == group:
                managed.setdefault("rule_action_override", []).append(
                    {"name": rule, "action_to_use": {action: {}}}
                )

    return mutate


def _drop_rate_rule(body: Body) -> None:
    body["rule"] = [r for r in body["rule"] if "rate_based_statement" not in r["statement"]]


# --- templates for resources a stack may not have yet ----------------------------------------

WAF_TEMPLATE: Body = {
    "name": "planted",
    "scope": "CLOUDFRONT",
    "default_action": {"allow": {}},
    "visibility_config": {
        "cloudwatch_metrics_enabled": True,
        "metric_name": "planted",
        "sampled_requests_enabled": True,
    },
    "rule": [
        *(
            {
                "name": group,
                "priority": index,
                "override_action": {"none": {}},
                "statement": {
                    "managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}
                },
                "visibility_config": {
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": group,
                    "sampled_requests_enabled": True,
                },
            }
            for index, group in enumerate(
                [
                    "AWSManagedRulesCommonRuleSet",
                    "AWSManagedRulesKnownBadInputsRuleSet",
                    "AWSManagedRulesAmazonIpReputationList",
                ]
            )
        ),
        {
            "name": "RateLimitPerIp",
            "priority": 3,
            "action": {"block": {}},
            "statement": {"rate_based_statement": {"aggregate_key_type": "IP", "limit": 1000}},
            "visibility_config": {
                "cloudwatch_metrics_enabled": True,
                "metric_name": "RateLimitPerIp",
                "sampled_requests_enabled": True,
            },
        },
    ],
}
DISTRIBUTION_TEMPLATE: Body = {
    "enabled": True,
    "web_acl_id": "${aws_wafv2_web_acl.planted.arn}",
    "origin": [
        {
            "domain_name": "example.execute-api.us-east-1.amazonaws.com",
            "origin_id": "api",
            "custom_header": [
                {"name": "X-Origin-Verify", "value": "planted"},
                {"name": "Referer", "value": "planted"},
            ],
        }
    ],
    "default_cache_behavior": {
        "allowed_methods": ["GET", "HEAD"],
        "cached_methods": ["GET", "HEAD"],
        "target_origin_id": "api",
        "viewer_protocol_policy": "https-only",
    },
    "restrictions": {"geo_restriction": {"restriction_type": "none"}},
    "viewer_certificate": {"cloudfront_default_certificate": True},
}
OIDC_PROVIDER_TEMPLATE: Body = {
    "url": f"https://{GITHUB_OIDC_HOST}",
    "client_id_list": [STS_AUDIENCE],
}


def statement_with_sid(sid: str, change: Callable[[dict], None]) -> Callable[[Body], None]:
    """Change the one statement `sid` of a policy (it must be there: the plant is real)."""

    def apply(policy: dict) -> None:
        (statement,) = [s for s in policy["Statement"] if s.get("Sid") == sid]
        change(statement)

    return edit_json("policy", apply)


def _drop_tag(kind: str, key: str) -> Callable[[dict], None]:
    return lambda statement: statement["Condition"]["StringEquals"].pop(f"aws:{kind}/{key}")


def _tag_value(kind: str, key: str, value: str) -> Callable[[dict], None]:
    return lambda statement: statement["Condition"]["StringEquals"].__setitem__(
        f"aws:{kind}/{key}", value
    )


DEPLOY_TAGGED = role_named("-github-deploy-tagged")
DEPLOY_NETWORK = role_named("-github-deploy-network")


def _add_block(key: str, block: Body) -> Callable[[Body], None]:
    """Append a rule block; in JSON every attribute of a security group rule is required."""
    full = {"description": "planted", "ipv6_cidr_blocks": [], "prefix_list_ids": [],
            "security_groups": [], "self": False, **block}  # fmt: skip
    return lambda body: body.setdefault(key, []).append(full)


def _widen_dns(body: Body) -> None:
    for rule in body["egress"]:
        if rule["from_port"] == 53:
            rule["cidr_blocks"] = ["0.0.0.0/0"]


def _drop_catch_all_dependency(body: Body) -> None:
    body["depends_on"] = [d for d in body["depends_on"] if "_deny_all_" not in d]


def rule_named(suffix: str) -> Callable[[str, Body], bool]:
    return lambda _, body: str(body.get("name", "")).endswith(suffix)


def in_rule(change: Callable[[dict], None]) -> Callable[[Body], None]:
    """Change the one `rule` block of an S3 configuration (lifecycle, encryption)."""

    def mutate(body: Body) -> None:
        (rule,) = body["rule"]
        change(rule)

    return mutate


def _drop_statement(sid: str) -> Callable[[dict], None]:
    def apply(policy: dict) -> None:
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]

    return apply


def _task_role_statement(action: str, resource: str) -> dict:
    return {"Sid": "Planted", "Effect": "Allow", "Action": action, "Resource": resource}


PLANTS: tuple[Plant, ...] = (
    # CKV_CA_1 — GitHub OIDC trust pinned
    Plant("oidc_string_like", "CKV_CA_1", "api", "aws_iam_role", github_trust,
          trust_conditions(_string_like), "StringLike on"),
    Plant("oidc_extra_subject", "CKV_CA_1", "api", "aws_iam_role", github_trust,
          trust_conditions(_extra_subject), "repo:someone/else"),
    Plant("oidc_wildcard_subject", "CKV_CA_1", "foundation", "aws_iam_role", github_trust,
          trust_conditions(_wildcard_subject), ":*']; only"),
    Plant("oidc_deploy_trusts_pull_requests", "CKV_CA_1", "foundation", "aws_iam_role",
          role_named("-github-deploy"), trust_conditions(_pull_request_subject), ":pull_request"),
    Plant("oidc_admin_trusts_pull_requests", "CKV_CA_1", "api", "aws_iam_role",
          role_named("-github-admin"), trust_conditions(_pull_request_subject), ":pull_request"),
    Plant("oidc_plan_trusts_the_environment", "CKV_CA_1", "foundation", "aws_iam_role",
          role_named("-github-plan"), trust_conditions(_environment_subject), ":environment:"),
    Plant("oidc_deploy_trusts_any_workflow", "CKV_CA_1", "foundation", "aws_iam_role",
          role_named("-github-deploy"), trust_conditions(_any_workflow_of_the_environment),
          "only 'repo:"),
    Plant("oidc_admin_trusts_any_workflow", "CKV_CA_1", "api", "aws_iam_role",
          role_named("-github-admin"), trust_conditions(_any_workflow_of_the_environment),
          "admin.yml@refs/heads/main"),
    Plant("oidc_plan_trusts_any_pull_request_subject", "CKV_CA_1", "foundation",
          "aws_iam_role", role_named("-github-plan"), trust_conditions(_any_pull_request_job),
          ":pull_request:*'"),
    Plant("oidc_missing_aud", "CKV_CA_1", "foundation", "aws_iam_role", github_trust,
          trust_conditions(_missing_aud), f"no StringEquals on {AUD}"),
    Plant("oidc_no_condition", "CKV_CA_1", "foundation", "aws_iam_role", github_trust,
          trust_conditions(_no_condition), f"no StringEquals on {SUB}"),
    # CKV_CA_2 — named actions
    Plant("action_star", "CKV_CA_2", "agent", "aws_iam_role_policy", any_resource,
          add_statement(_task_role_statement("*", "arn:aws:s3:::b")), "Action '*'"),
    Plant("action_service_star", "CKV_CA_2", "api", "aws_iam_role_policy", any_resource,
          add_statement(_task_role_statement("dynamodb:*", "arn:aws:dynamodb:us-east-1:1:table/t")),
          "'dynamodb:*' grants a whole service"),
    Plant("action_pattern", "CKV_CA_2", "foundation", "aws_iam_role_policy", any_resource,
          add_statement(_task_role_statement("iam:Pass*", "arn:aws:iam::1:role/r")),
          "'iam:Pass*' is a wildcard pattern"),
    Plant("action_not_action", "CKV_CA_2", "agent", "aws_iam_role_policy", any_resource,
          add_statement({"Sid": "Planted", "Effect": "Allow", "NotAction": "iam:*",
                         "Resource": "arn:aws:s3:::b"}), "NotAction"),
    Plant("key_policy_service_star", "CKV_CA_2", "foundation", "aws_kms_key", any_resource,
          edit_json("policy", lambda p: p["Statement"][0].__setitem__("Action", "kms:*")),
          "'kms:*' grants a whole service"),
    # CKV_CA_3 — Resource '*' only for star-only actions
    Plant("resource_star_scoped_action", "CKV_CA_3", "agent", "aws_iam_role_policy",
          any_resource, add_statement(_task_role_statement("dynamodb:GetItem", "*")),
          "Resource '*' with dynamodb:GetItem"),
    Plant("not_resource", "CKV_CA_3", "api", "aws_iam_role_policy", any_resource,
          add_statement({"Sid": "Planted", "Effect": "Allow", "Action": "s3:GetObject",
                         "NotResource": "arn:aws:s3:::b/*"}), "NotResource"),
    # CKV_CA_20 — writes on resources no ARN names carry the project's tag conditions
    Plant("deploy_keys_without_tags", "CKV_CA_20", "foundation", "aws_iam_policy",
          DEPLOY_TAGGED, statement_with_sid("ProjectKeys", _no_condition), ":key/*' names no"),
    Plant("deploy_distribution_without_tags", "CKV_CA_20", "foundation", "aws_iam_policy",
          DEPLOY_TAGGED, statement_with_sid("ProjectDistribution", _no_condition),
          ":distribution/*' names no"),
    Plant("deploy_rest_api_without_tags", "CKV_CA_20", "foundation", "aws_iam_policy",
          DEPLOY_TAGGED, statement_with_sid("ProjectRestApi", _no_condition),
          "/restapis/*' names no"),
    Plant("deploy_network_without_tags", "CKV_CA_20", "foundation", "aws_iam_policy",
          DEPLOY_NETWORK, statement_with_sid("Network", _no_condition), ":*' names no"),
    Plant("deploy_create_network_environment_only", "CKV_CA_20", "foundation",
          "aws_iam_policy", DEPLOY_NETWORK,
          statement_with_sid("CreateInVpc", _drop_tag("RequestTag", "Project")),
          "for ec2:CreateRouteTable"),
    Plant("deploy_keys_any_environment", "CKV_CA_20", "foundation", "aws_iam_policy",
          DEPLOY_TAGGED,
          statement_with_sid("ProjectKeys", _tag_value("ResourceTag", "Environment", "*")),
          "kms:ScheduleKeyDeletion"),
    Plant("deploy_inline_key_deletion", "CKV_CA_20", "foundation", "aws_iam_role_policy",
          role_named("-github-deploy-policy"),
          add_statement(_task_role_statement(
              "kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:123456789012:key/*")),
          "for kms:ScheduleKeyDeletion"),
    # CKV_CA_4 — agent task role least privilege
    Plant("task_role_s3", "CKV_CA_4", "agent", "aws_iam_role_policy", agent_exec_policy,
          add_statement(_task_role_statement("s3:GetObject", "arn:aws:s3:::bucket/*")),
          "'s3:GetObject' is never for the agent"),
    Plant("task_role_iam", "CKV_CA_4", "agent", "aws_iam_role_policy", agent_exec_policy,
          add_statement(_task_role_statement("iam:PassRole", "arn:aws:iam::1:role/r")),
          "'iam:PassRole' is never for the agent"),
    Plant("task_role_sts", "CKV_CA_4", "agent", "aws_iam_role_policy", agent_exec_policy,
          add_statement(_task_role_statement("sts:AssumeRole", "arn:aws:iam::1:role/r")),
          "'sts:AssumeRole' is never for the agent"),
    Plant("task_role_organizations", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy,
          add_statement(_task_role_statement("organizations:ListAccounts", "arn:aws:iam::1:r")),
          "is never for the agent"),
    Plant("task_role_run_table", "CKV_CA_4", "agent", "aws_iam_role_policy", agent_exec_policy,
          add_statement(_task_role_statement(
              "dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:1:table/cloudagent-dev")),
          "the result travels in the log stream"),
    Plant("task_role_provider_keys", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy,
          add_statement(_task_role_statement(
              "secretsmanager:GetSecretValue",
              "arn:aws:secretsmanager:us-east-1:1:secret:cloudagent-dev/provider/openai-AbCdEf")),
          "ECS injects the run's key"),
    Plant("task_role_other_service", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy,
          add_statement(_task_role_statement("lambda:InvokeFunction", "arn:aws:lambda:::f")),
          "not an action ECS Exec needs"),
    Plant("task_role_holds_a_policy", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy, _moved_to_the_headless_role,
          "the headless task role holds a policy"),
    Plant("task_definition_runs_as_exec_role", "CKV_CA_4", "agent", "aws_ecs_task_definition",
          any_resource, set_attr("task_role_arn", "${aws_iam_role.exec_role.arn}"),
          "is not the headless task role"),
    Plant("exec_role_reads_session_logs", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy,
          statement_with_sid("EcsExecSessionLogs", _add_action("logs:GetLogEvents")),
          "'logs:GetLogEvents' is not an action ECS Exec needs"),
    Plant("exec_role_key_without_session_context", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy, statement_with_sid("DecryptExecSessions", _no_condition),
          "without the SSM session's encryption context"),
    Plant("exec_role_key_via_service_only", "CKV_CA_4", "agent", "aws_iam_role_policy",
          agent_exec_policy,
          statement_with_sid("DecryptExecSessions", _replace_condition(
              {"StringEquals": {"kms:ViaService": "ssm.us-east-1.amazonaws.com"}})),
          "without the SSM session's encryption context"),
    # CKV_CA_5..8 — container definitions
    Plant("container_root_user", "CKV_CA_5", "agent", "aws_ecs_task_definition", any_resource,
          agent_container(lambda c: c.__setitem__("user", "0")), "runs as root"),
    Plant("container_no_user", "CKV_CA_5", "agent", "aws_ecs_task_definition", any_resource,
          agent_container(lambda c: c.pop("user")), "no `user`"),
    Plant("container_privileged", "CKV_CA_5", "agent", "aws_ecs_task_definition", any_resource,
          agent_container(lambda c: c.__setitem__("privileged", True)), "privileged"),
    Plant("container_default_capabilities", "CKV_CA_5", "agent", "aws_ecs_task_definition",
          any_resource, agent_container(lambda c: c["linuxParameters"].pop("capabilities")),
          "keeps Docker's default capabilities"),
    Plant("container_adds_sys_ptrace", "CKV_CA_5", "agent", "aws_ecs_task_definition",
          any_resource,
          agent_container(lambda c: c["linuxParameters"]["capabilities"].__setitem__(
              "add", ["SYS_PTRACE"])),
          "adds capabilities ['SYS_PTRACE']"),
    Plant("container_no_init", "CKV_CA_6", "agent", "aws_ecs_task_definition", any_resource,
          agent_container(lambda c: c.__setitem__("linuxParameters", {})), "initProcessEnabled"),
    Plant("container_stop_timeout_60", "CKV_CA_6", "agent", "aws_ecs_task_definition",
          any_resource, agent_container(lambda c: c.__setitem__("stopTimeout", 60)),
          "stopTimeout 60"),
    Plant("container_two_provider_keys", "CKV_CA_7", "agent", "aws_ecs_task_definition",
          any_resource,
          proxy_container(lambda c: c["secrets"].append(
              {"name": "XAI_API_KEY",
               "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:cloudagent-dev/x"})),
          "2 provider keys in one task definition"),
    Plant("container_provider_key_in_env", "CKV_CA_7", "agent", "aws_ecs_task_definition",
          any_resource,
          agent_container(lambda c: c["environment"].append(
              {"name": "ANTHROPIC_API_KEY", "value": "x"})),
          "provider key ANTHROPIC_API_KEY in plain environment"),
    Plant("container_key_like_env", "CKV_CA_7", "agent", "aws_ecs_task_definition",
          any_resource,
          agent_container(lambda c: c["environment"].append(
              {"name": "GITHUB_TOKEN", "value": "x"})),
          "key-like variable GITHUB_TOKEN"),
    Plant("container_secret_from_ssm", "CKV_CA_7", "agent", "aws_ecs_task_definition",
          any_resource,
          proxy_container(lambda c: c["secrets"][0].__setitem__(
              "valueFrom", "arn:aws:ssm:us-east-1:1:parameter/k")),
          "is not from Secrets Manager"),
    Plant("container_blocking_logs", "CKV_CA_8", "agent", "aws_ecs_task_definition",
          any_resource,
          agent_container(lambda c: c["logConfiguration"]["options"].__setitem__(
              "mode", "blocking")), "awslogs mode 'blocking'"),
    Plant("container_default_log_mode", "CKV_CA_8", "agent", "aws_ecs_task_definition",
          any_resource,
          agent_container(lambda c: c["logConfiguration"]["options"].pop("mode")),
          "awslogs mode None"),
    # CKV_CA_5, 6, 8 judge every container, the sidecars as much as the agent
    Plant("proxy_root_user", "CKV_CA_5", "agent", "aws_ecs_task_definition", any_resource,
          proxy_container(lambda c: c.__setitem__("user", "root")),
          "container 'model-proxy': runs as root"),
    Plant("repo_init_no_init", "CKV_CA_6", "agent", "aws_ecs_task_definition", repo_family,
          repo_init_container(lambda c: c.__setitem__("linuxParameters", {})),
          "container 'repo-init': linuxParameters.initProcessEnabled"),
    Plant("repo_init_blocking_logs", "CKV_CA_8", "agent", "aws_ecs_task_definition",
          repo_family,
          repo_init_container(lambda c: c["logConfiguration"]["options"].__setitem__(
              "mode", "blocking")), "container 'repo-init': awslogs mode 'blocking'"),
    # CKV_CA_23 — the agent container holds no secret
    Plant("agent_gets_provider_key", "CKV_CA_23", "agent", "aws_ecs_task_definition",
          any_resource, agent_container(_add_secret("ANTHROPIC_API_KEY", KEY_ARN)),
          "container 'agent' has a `secrets` key (['ANTHROPIC_API_KEY'])"),
    Plant("agent_empty_secrets", "CKV_CA_23", "agent", "aws_ecs_task_definition",
          any_resource, agent_container(lambda c: c.__setitem__("secrets", [])),
          "container 'agent' has a `secrets` key (empty)"),
    Plant("agent_container_renamed", "CKV_CA_23", "agent", "aws_ecs_task_definition",
          any_resource, agent_container(lambda c: c.__setitem__("name", "worker")),
          "0 containers named 'agent'"),
    # CKV_CA_24 — exactly one provider key, on model-proxy
    Plant("provider_key_moved_to_agent", "CKV_CA_24", "agent", "aws_ecs_task_definition",
          any_resource, edit_json("container_definitions", _move_key_to_agent),
          "provider key ANTHROPIC_API_KEY on container 'agent'"),
    Plant("proxy_without_key", "CKV_CA_24", "agent", "aws_ecs_task_definition", any_resource,
          proxy_container(lambda c: c.pop("secrets")), "0 provider keys in the task definition"),
    Plant("proxy_key_of_another_provider", "CKV_CA_24", "agent", "aws_ecs_task_definition",
          any_resource, proxy_container(_rename_secret("OPENAI_API_KEY")),
          "for anthropic holds secrets ['OPENAI_API_KEY']"),
    Plant("proxy_holds_another_secret", "CKV_CA_24", "agent", "aws_ecs_task_definition",
          any_resource,
          proxy_container(_add_secret("DATABASE_URL", "arn:aws:secretsmanager:us-east-1:1:"
                                      "secret:cloudagent-dev/other-AbCdEf")),
          "holds secrets ['ANTHROPIC_API_KEY', 'DATABASE_URL']"),
    Plant("repo_init_gets_provider_key", "CKV_CA_24", "agent", "aws_ecs_task_definition",
          repo_family, repo_init_container(_add_secret("ANTHROPIC_API_KEY", KEY_ARN)),
          "provider key ANTHROPIC_API_KEY on container 'repo-init'"),
    # CKV_CA_25 — the repository token only on repo-init
    Plant("repo_token_on_agent", "CKV_CA_25", "agent", "aws_ecs_task_definition", repo_family,
          agent_container(_add_secret("AGENT_REPO_TOKEN", REPO_TOKEN_ARN)),
          "container 'agent': holds the repository token (as AGENT_REPO_TOKEN)"),
    Plant("repo_token_renamed_on_proxy", "CKV_CA_25", "agent", "aws_ecs_task_definition",
          any_resource, proxy_container(_add_secret("GIT_AUTH", REPO_TOKEN_ARN)),
          "container 'model-proxy': holds the repository token (as GIT_AUTH)"),
    Plant("repo_token_in_plain_environment", "CKV_CA_25", "agent", "aws_ecs_task_definition",
          repo_family,
          repo_init_container(lambda c: c["environment"].append(
              {"name": "AGENT_REPO_TOKEN", "value": "github_pat_x"})),
          "container 'repo-init': AGENT_REPO_TOKEN in plain environment"),
    Plant("repo_init_holds_another_secret", "CKV_CA_25", "agent", "aws_ecs_task_definition",
          repo_family, repo_init_container(_add_secret("ANTHROPIC_API_KEY", KEY_ARN)),
          "container 'repo-init': holds ANTHROPIC_API_KEY; repo-init holds the token alone"),
    # CKV_CA_9 / 10
    Plant("log_retention_30", "CKV_CA_9", "agent", "aws_cloudwatch_log_group", any_resource,
          set_attr("retention_in_days", 30), "retention_in_days 30"),
    Plant("log_retention_unset", "CKV_CA_9", "foundation", "aws_cloudwatch_log_group",
          any_resource, del_attr("retention_in_days"), "retention_in_days None"),
    Plant("kms_rotation_off", "CKV_CA_10", "foundation", "aws_kms_key", any_resource,
          set_attr("enable_key_rotation", False), "enable_key_rotation is False"),
    # CKV_CA_11 / 12 — edge
    Plant("distribution_without_acl", "CKV_CA_11", "api", "aws_cloudfront_distribution",
          any_resource, del_attr("web_acl_id"), "no web_acl_id",
          template=DISTRIBUTION_TEMPLATE),
    Plant("acl_missing_known_bad_inputs", "CKV_CA_12", "api", "aws_wafv2_web_acl",
          any_resource, _drop_rule("AWSManagedRulesKnownBadInputsRuleSet"),
          "AWSManagedRulesKnownBadInputsRuleSet is not enforced", template=WAF_TEMPLATE),
    Plant("acl_common_only_counts", "CKV_CA_12", "api", "aws_wafv2_web_acl", any_resource,
          _count_rule("AWSManagedRulesCommonRuleSet"), "only counts", template=WAF_TEMPLATE),
    Plant("acl_no_rate_rule", "CKV_CA_12", "api", "aws_wafv2_web_acl", any_resource,
          _drop_rate_rule, "no blocking rate-based rule", template=WAF_TEMPLATE),
    Plant("acl_counts_another_common_rule", "CKV_CA_12", "api", "aws_wafv2_web_acl",
          any_resource, _override_rule("AWSManagedRulesCommonRuleSet", "CrossSiteScripting_BODY"),
          "AWSManagedRulesCommonRuleSet overrides its rule CrossSiteScripting_BODY to count",
          template=WAF_TEMPLATE),
    Plant("acl_counts_a_known_bad_input", "CKV_CA_12", "api", "aws_wafv2_web_acl",
          any_resource, _override_rule("AWSManagedRulesKnownBadInputsRuleSet", "Log4JRCE_BODY"),
          "overrides its rule Log4JRCE_BODY to count", template=WAF_TEMPLATE),
    Plant("acl_allows_the_body_size_rule", "CKV_CA_12", "api", "aws_wafv2_web_acl",
          any_resource,
          _override_rule("AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY", "allow"),
          "overrides its rule SizeRestrictions_BODY to allow", template=WAF_TEMPLATE),
    # CKV_CA_16 / 17 — no way around CloudFront
    Plant("origin_without_verify_header", "CKV_CA_16", "api", "aws_cloudfront_distribution",
          any_resource, lambda body: [o.pop("custom_header", None) for o in body["origin"]],
          "sends no X-Origin-Verify header", template=DISTRIBUTION_TEMPLATE),
    Plant("origin_verify_header_empty", "CKV_CA_16", "api", "aws_cloudfront_distribution",
          any_resource,
          lambda body: [h.__setitem__("value", "") for o in body["origin"]
                        for h in o["custom_header"]],
          "empty X-Origin-Verify header", template=DISTRIBUTION_TEMPLATE),
    Plant("origin_without_referer", "CKV_CA_16", "api", "aws_cloudfront_distribution",
          any_resource,
          lambda body: [o.__setitem__("custom_header", [h for h in o["custom_header"]
                                                        if h["name"] != "Referer"])
                        for o in body["origin"]],
          "sends no Referer header", template=DISTRIBUTION_TEMPLATE),
    Plant("api_lambda_without_origin_check", "CKV_CA_17", "api", "aws_lambda_function",
          lambda _, body: "OIDC_AUDIENCE" in body.get("environment", {}).get("variables", {}),
          lambda body: body["environment"]["variables"].pop("ORIGIN_VERIFY_SECRET_ARN"),
          "ORIGIN_VERIFY_SECRET_ARN is unset"),
    # CKV_CA_18 — the tasks' security group: nothing in, HTTPS and resolver DNS out
    Plant("agent_sg_ingress", "CKV_CA_18", "agent", "aws_security_group", any_resource,
          _add_block("ingress", {"protocol": "tcp", "from_port": 22, "to_port": 22,
                                 "cidr_blocks": ["0.0.0.0/0"]}),
          "accept no inbound traffic"),
    Plant("agent_sg_egress_all_ports", "CKV_CA_18", "agent", "aws_security_group",
          any_resource,
          _add_block("egress", {"protocol": "-1", "from_port": 0, "to_port": 0,
                                "cidr_blocks": ["0.0.0.0/0"]}),
          "egress -1 0-0 to ['0.0.0.0/0']"),
    Plant("agent_sg_dns_anywhere", "CKV_CA_18", "agent", "aws_security_group", any_resource,
          _widen_dns, "egress udp 53-53 to ['0.0.0.0/0']"),
    # CKV_CA_19 — the DNS Firewall ends in a default deny (enforce mode, the default)
    Plant("dns_firewall_without_default_deny", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule_group_association", any_resource,
          _drop_catch_all_dependency, "enforce mode without a default-deny rule"),
    Plant("dns_firewall_deny_only_alerts", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule", rule_named("-egress-deny-all"),
          set_attr("action", "ALERT"), "default-deny rule 'cloudagent-dev-egress-deny-all' has"),
    Plant("dns_firewall_allow_after_deny", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule", rule_named("-egress-allow"),
          set_attr("priority", 2000), "every rule must come before the catch-all"),
    Plant("dns_firewall_allow_inspects_redirection", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule", rule_named("-egress-allow"),
          del_attr("firewall_domain_redirection_action"),
          "allow rule 'cloudagent-dev-egress-allow' inspects redirection chains (default)"),
    Plant("dns_firewall_allow_inspects_redirection_explicitly", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule", rule_named("-egress-allow"),
          set_attr("firewall_domain_redirection_action", "INSPECT_REDIRECTION_DOMAIN"),
          "inspects redirection chains (INSPECT_REDIRECTION_DOMAIN)"),
    Plant("dns_firewall_deny_all_trusts_redirection", "CKV_CA_19", "foundation",
          "aws_route53_resolver_firewall_rule", rule_named("-egress-deny-all"),
          set_attr("firewall_domain_redirection_action", "TRUST_REDIRECTION_DOMAIN"),
          "trusts redirection chains: it must inspect them"),
    # CKV_CA_13 / 14 / 15
    Plant("key_policy_principal_star", "CKV_CA_13", "foundation", "aws_kms_key", any_resource,
          edit_json("policy", lambda p: p["Statement"][0].__setitem__("Principal", {"AWS": "*"})),
          "AWS principal '*'"),
    Plant("endpoint_without_account_scope", "CKV_CA_13", "foundation", "aws_vpc_endpoint",
          S3_ENDPOINT, statement_with_sid("ArtifactObjects", _no_condition),
          "without aws:ResourceAccount"),
    Plant("endpoint_any_account", "CKV_CA_13", "foundation", "aws_vpc_endpoint",
          DYNAMODB_ENDPOINT, statement_with_sid("RunTable", _replace_condition(
              {"StringEquals": {"aws:ResourceAccount": "*"}})),
          "without aws:ResourceAccount"),
    Plant("endpoint_layer_read_widened", "CKV_CA_13", "foundation", "aws_vpc_endpoint",
          S3_ENDPOINT, statement_with_sid(
              "EcrImageLayers", lambda s: s.__setitem__("Resource", "arn:aws:s3:::*/*")),
          "without aws:ResourceAccount"),
    Plant("endpoint_without_policy", "CKV_CA_13", "foundation", "aws_vpc_endpoint",
          S3_ENDPOINT, del_attr("policy"), "a gateway endpoint without a policy"),
    Plant("oidc_provider_extra_client", "CKV_CA_14", "foundation",
          "aws_iam_openid_connect_provider", any_resource,
          set_attr("client_id_list", [STS_AUDIENCE, "cloudagent-dev"]), "client_id_list",
          template=OIDC_PROVIDER_TEMPLATE),
    # CKV_CA_21 — API Gateway refuses direct calls before the Lambda
    Plant("rest_api_without_policy", "CKV_CA_21", "api", "aws_api_gateway_rest_api",
          any_resource, del_attr("policy"), "no resource policy"),
    Plant("rest_api_policy_without_referer", "CKV_CA_21", "api", "aws_api_gateway_rest_api",
          any_resource, edit_json("policy", lambda p: p["Statement"][0].pop("Condition")),
          "allows without StringEquals aws:Referer"),
    Plant("rest_api_policy_any_referer", "CKV_CA_21", "api", "aws_api_gateway_rest_api",
          any_resource,
          edit_json("policy", lambda p: p["Statement"][0]["Condition"]["StringEquals"]
                    .__setitem__("aws:Referer", "*")),
          "aws:Referer is ['*']"),
    # CKV_CA_22 — service trusts against the confused deputy
    Plant("lambda_trust_any_account", "CKV_CA_22", "api", "aws_iam_role", role_named("-api"),
          service_trust(_no_condition), "may assume it for any account"),
    Plant("ecs_trust_source_account_star", "CKV_CA_22", "agent", "aws_iam_role",
          role_named("-agent-task"),
          service_trust(lambda s: s["Condition"]["StringEquals"].__setitem__(
              "aws:SourceAccount", "*")),
          "aws:SourceAccount is ['*']"),
    Plant("role_inline_policy", "CKV_CA_15", "agent", "aws_iam_role", any_resource,
          set_attr("inline_policy", [{"name": "p", "policy": '{"Statement": []}'}]),
          "inline_policy"),
    # CKV_CA_26 — the artifact bucket: private, KMS, TLS-only, expiring
    Plant("bucket_public_acls_allowed", "CKV_CA_26", "api",
          "aws_s3_bucket_public_access_block", any_resource,
          set_attr("block_public_acls", False), "block_public_acls is False"),
    Plant("bucket_acls_enabled", "CKV_CA_26", "api", "aws_s3_bucket_ownership_controls",
          any_resource, set_attr("rule", {"object_ownership": "ObjectWriter"}),
          "ACLs stay enabled"),
    Plant("bucket_acl_public_read", "CKV_CA_26", "api", "aws_s3_bucket", any_resource,
          set_attr("acl", "public-read"), "acl 'public-read'"),
    Plant("bucket_sse_s3", "CKV_CA_26", "api",
          "aws_s3_bucket_server_side_encryption_configuration", any_resource,
          in_rule(lambda r: r["apply_server_side_encryption_by_default"].update(
              {"sse_algorithm": "AES256", "kms_master_key_id": None})),
          "sse_algorithm 'AES256'"),
    Plant("bucket_aws_managed_key", "CKV_CA_26", "api",
          "aws_s3_bucket_server_side_encryption_configuration", any_resource,
          in_rule(lambda r: r["apply_server_side_encryption_by_default"].pop(
              "kms_master_key_id")),
          "AWS's aws/s3 key"),
    Plant("bucket_without_bucket_key", "CKV_CA_26", "api",
          "aws_s3_bucket_server_side_encryption_configuration", any_resource,
          in_rule(lambda r: r.__setitem__("bucket_key_enabled", False)), "bucket_key_enabled"),
    Plant("bucket_plain_http", "CKV_CA_26", "api", "aws_s3_bucket_policy", any_resource,
          edit_json("policy", _drop_statement("DenyInsecureTransport")),
          "plain HTTP is allowed"),
    Plant("bucket_policy_public_read", "CKV_CA_26", "api", "aws_s3_bucket_policy",
          any_resource,
          add_statement({"Sid": "Public", "Effect": "Allow", "Principal": "*",
                         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}),
          "statement 'Public': allows every principal"),
    Plant("bucket_never_expires", "CKV_CA_26", "api", "aws_s3_bucket_lifecycle_configuration",
          any_resource, in_rule(lambda r: r.pop("expiration")), "expires it within 365 days"),
    Plant("bucket_expiry_on_one_prefix", "CKV_CA_26", "api",
          "aws_s3_bucket_lifecycle_configuration", any_resource,
          in_rule(lambda r: r.__setitem__("filter", [{"prefix": "sessions/"}])),
          "expires it within 365 days"),
    Plant("bucket_keeps_unfinished_uploads", "CKV_CA_26", "api",
          "aws_s3_bucket_lifecycle_configuration", any_resource,
          in_rule(lambda r: r.pop("abort_incomplete_multipart_upload")),
          "aborts unfinished multipart uploads"),
)  # fmt: skip


def locate(stack: dict, plant: Plant) -> tuple[dict, str]:
    """A deep copy of the real stack and the name of the resource the plant breaks.

    Uses the first real resource the selector accepts; without one, adds the template (a
    compliant block) to the copy under the name `planted`.
    """
    doc = copy.deepcopy(stack)
    resources = doc.setdefault("resource", {}).setdefault(plant.resource_type, {})
    for name, body in resources.items():
        if plant.select(name, body):
            return doc, name
    if plant.template is None:
        raise LookupError(f"{plant.case}: no {plant.resource_type} in the {plant.stack} synth")
    resources["planted"] = copy.deepcopy(plant.template)
    return doc, "planted"


def planted(stack: dict, plant: Plant) -> tuple[dict, str]:
    """A copy of the real stack with the violation planted; the broken resource's name."""
    doc, name = locate(stack, plant)
    plant.mutate(doc["resource"][plant.resource_type][name])
    return doc, name


def checkov_conf(body: Body) -> dict[str, list[Any]]:
    """A resource block in the shape Checkov's terraform_json parser hands checks."""
    return {key: [value] for key, value in body.items() if key != "//"}
