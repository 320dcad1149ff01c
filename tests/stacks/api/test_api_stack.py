"""The api stack's JSON: Chalice's functions and routes, least-privilege roles, the edge."""

from __future__ import annotations

import json

import pytest

from stacks.shared.constants import GITHUB_OIDC_ISSUER
from stacks.shared.prices import task_hourly_cost_usd
from tests.support.control_api import ZIP_BUDGET_BYTES
from tests.support.synthesized import one, policy_of, resources

ENVIRONMENT = {
    "TABLE_NAME",
    "CLUSTER_ARN",
    "TASK_DEFINITION_ARNS",
    "REPO_TASK_DEFINITION_ARNS",
    "EXEC_TASK_ROLE_ARN",
    "CONTAINER_NAME",
    "MODEL_PROXY_CONTAINER_NAME",
    "REPO_INIT_CONTAINER_NAME",
    "MAX_RUN_COST_USD",
    "SUBNET_IDS",
    "SECURITY_GROUP_IDS",
    "LOG_GROUP_NAME",
    "MAX_CONCURRENT_RUNS",
    "CAPACITY",
    "TASK_HOURLY_COST_USD",
    "ALLOWED_REPOS",
    "OIDC_ISSUER",
    "OIDC_JWKS_URL",
    "OIDC_AUDIENCE",
    "OIDC_ALLOWED_SUBJECTS",
    "OIDC_REF",
    "OIDC_JOB_WORKFLOW_REFS",
    "ARTIFACT_BUCKET",
}


@pytest.fixture(scope="module")
def api(stacks: dict[str, dict]) -> dict:
    return stacks["api"]


@pytest.fixture(scope="module")
def functions(api: dict) -> dict[str, dict]:
    return {f["function_name"]: f for f in resources(api, "aws_lambda_function")}


def test_functions_come_from_the_chalice_package(functions: dict[str, dict]) -> None:
    assert set(functions) == {
        "cloudagent-dev-api",
        "cloudagent-dev-admin",
        "cloudagent-dev-task-state",
        "cloudagent-dev-reaper",
    }
    assert functions["cloudagent-dev-api"]["handler"] == "app.app"
    assert functions["cloudagent-dev-admin"]["handler"] == "app.admin"
    for function in functions.values():
        assert function["runtime"] == "python3.11"
        assert function["filename"].startswith("assets/") and function["filename"].endswith(".zip")
        assert function["logging_config"]["log_group"].startswith("${aws_cloudwatch_log_group.")
    assert functions["cloudagent-dev-api"]["reserved_concurrent_executions"] == 20


def test_control_lambda_environment_pins_githubs_issuer(functions: dict[str, dict]) -> None:
    """The development issuer of `make up` never reaches the synthesized stack."""
    variables = functions["cloudagent-dev-api"]["environment"]["variables"]
    assert set(variables) >= ENVIRONMENT
    assert variables["OIDC_ISSUER"] == GITHUB_OIDC_ISSUER
    assert variables["OIDC_JWKS_URL"] == f"{GITHUB_OIDC_ISSUER}/.well-known/jwks"
    assert variables["OIDC_ALLOWED_SUBJECTS"] == (
        "repo:org/cloudagent:environment:dev:job_workflow_ref:"
        "org/cloudagent/.github/workflows/run-agent.yml@refs/heads/main"
    )
    assert variables["OIDC_AUDIENCE"] == "cloudagent-dev"
    # Only jobs of run-agent.yml (continue-run.yml calls it) on the default branch.
    assert variables["OIDC_REF"] == "refs/heads/main"
    assert variables["OIDC_JOB_WORKFLOW_REFS"] == (
        "org/cloudagent/.github/workflows/run-agent.yml@refs/heads/main"
    )
    assert variables["CONTAINER_NAME"] == "agent"
    assert variables["MODEL_PROXY_CONTAINER_NAME"] == "model-proxy"
    assert variables["REPO_INIT_CONTAINER_NAME"] == "repo-init"
    assert variables["MAX_RUN_COST_USD"] == "25"
    costs = json.loads(variables["TASK_HOURLY_COST_USD"])
    assert set(costs) == {"on-demand", "spot"} and costs["spot"] < costs["on-demand"]
    assert costs["on-demand"] == task_hourly_cost_usd("X86_64", "on-demand") > 1
    assert variables["CAPACITY"] == "on-demand"
    assert set(json.loads(variables["PROVIDER_SECRET_ARNS"])) == {
        "anthropic",
        "openai",
        "google",
        "xai",
        "openrouter",
    }


def test_rest_api_is_chalices_route_table_in_openapi3(api: dict) -> None:
    rest = one(api, "aws_api_gateway_rest_api")
    definition = json.loads(rest["body"])
    assert definition["openapi"].startswith("3.0")
    assert {
        "/v1/health",
        "/v1/runs",
        "/v1/runs/{run_id}",
        "/v1/runs/{run_id}/events",
        "/v1/runs/{run_id}/stop",
        "/v1/sessions",
    } <= set(definition["paths"])
    for methods in definition["paths"].values():
        for operation in methods.values():
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert (
                integration["uri"].startswith("${aws_lambda_function.")
                and "invoke_arn" in integration["uri"]
            )
    assert rest["endpoint_configuration"]["types"] == ["REGIONAL"]


def test_api_role_is_scoped(api: dict) -> None:
    statements = {s["Sid"]: s for s in policy_of(api, "-api")}
    run = statements["RunAgentTask"]
    assert run["Action"] == "ecs:RunTask"
    # Two families per provider (without and with repo-init), every revision of each, nothing
    # else.
    assert len(run["Resource"]) == 10
    assert all(":task-definition/" in r and r.endswith("family}:*") for r in run["Resource"])
    # cdktf's cross-stack reference names the agent stack's output: `<id>family`.
    named = {r.rsplit("task_definition", 1)[1] for r in run["Resource"]}
    providers = ("anthropic", "google", "openai", "openrouter", "xai")
    assert named == {f"_{p}{repo}family}}:*" for p in providers for repo in ("", "_repo")}
    assert "ecs:cluster" in run["Condition"]["ArnEquals"]
    track = statements["TrackAgentTasks"]
    assert set(track["Action"]) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert "ecs:cluster" in track["Condition"]["ArnEquals"]
    pass_role = statements["PassAgentRoles"]
    # Exactly the roles a RunTask names: the task definitions' task and execution roles, and
    # the exec role a session names in its overrides; to ECS tasks only.
    passed = sorted(
        r.rsplit("cross-stack-output-aws_iam_role", 1)[1] for r in pass_role["Resource"]
    )
    assert pass_role["Action"] == "iam:PassRole"
    assert passed == ["exec_rolearn}", "execution_rolearn}", "task_rolearn}"]
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    variables = resources(api, "aws_lambda_function")[0]["environment"]["variables"]
    assert variables["EXEC_TASK_ROLE_ARN"].endswith("cross-stack-output-aws_iam_roleexec_rolearn}")
    assert any(r.endswith("/index/by_time") for r in statements["RunTable"]["Resource"])
    assert statements["ReadAgentLogs"]["Action"] == "logs:GetLogEvents"


def test_admin_role_counts_and_stops_cluster_tasks_and_reads_only_quotas(api: dict) -> None:
    statements = {s["Sid"]: s for s in policy_of(api, "dev-admin")}
    tasks = statements["StopAgentTasks"]
    assert set(tasks["Action"]) == {"ecs:DescribeTasks", "ecs:StopTask"}
    assert "ecs:cluster" in tasks["Condition"]["ArnEquals"]
    quotas = statements["ReadFargateQuotas"]
    # The only "*" of the admin role, for an action that has no resource type.
    assert quotas["Action"] == "servicequotas:GetServiceQuota" and quotas["Resource"] == "*"
    stars = [s["Sid"] for s in statements.values() if s["Resource"] in ("*", ["*"])]
    assert stars == ["ReadFargateQuotas"]


def test_lambda_roles_trust_only_this_accounts_functions(api: dict) -> None:
    """Confused-deputy guard: aws:SourceAccount (only) on both Lambda execution-role trusts."""
    trusts = {
        r["name"]: json.loads(r["assume_role_policy"])["Statement"]
        for r in resources(api, "aws_iam_role")
        if "lambda.amazonaws.com" in r["assume_role_policy"]
    }
    assert sorted(trusts) == ["cloudagent-dev-admin", "cloudagent-dev-api"]
    for [statement] in trusts.values():
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        [account] = statement["Condition"]["StringEquals"].values()
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
        assert account.startswith("${data.aws_caller_identity.")


def test_admin_invoke_role_trusts_one_subject_and_invokes_one_function(api: dict) -> None:
    role = next(
        r for r in resources(api, "aws_iam_role") if r["name"] == "cloudagent-dev-github-admin"
    )
    [statement] = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:org/cloudagent:environment:dev"
            ":job_workflow_ref:org/cloudagent/.github/workflows/admin.yml@refs/heads/main",
        }
    }
    [allowed] = policy_of(api, "-github-admin")
    assert allowed["Action"] == "lambda:InvokeFunction"
    assert "aws_lambda_function.control_plane_admin" in allowed["Resource"]


def test_events_rule_for_this_clusters_task_state_and_reaper_schedule(api: dict) -> None:
    rules = {r["name"]: r for r in resources(api, "aws_cloudwatch_event_rule")}
    pattern = json.loads(rules["cloudagent-dev-task-state"]["event_pattern"])
    assert pattern["detail-type"] == ["ECS Task State Change"]
    assert len(pattern["detail"]["clusterArn"]) == 1
    assert rules["cloudagent-dev-reaper"]["schedule_expression"].startswith("rate(")
    targets = {t["rule"] for t in resources(api, "aws_cloudwatch_event_target")}
    assert len(targets) == 2


def test_cloudfront_has_the_web_acl_and_sends_the_origin_header(api: dict) -> None:
    distribution = one(api, "aws_cloudfront_distribution")
    assert distribution["web_acl_id"].startswith("${aws_wafv2_web_acl.")
    [origin] = distribution["origin"]
    assert origin["custom_origin_config"]["origin_protocol_policy"] == "https-only"
    # The one secret value twice: X-Origin-Verify for the Lambda, Referer for the resource policy.
    headers = {h["name"]: h["value"] for h in origin["custom_header"]}
    assert sorted(headers) == ["Referer", "X-Origin-Verify"]
    assert headers["Referer"] == headers["X-Origin-Verify"]
    assert headers["Referer"].startswith("${aws_secretsmanager_secret_version.")
    behavior = distribution["default_cache_behavior"]
    assert behavior["viewer_protocol_policy"] == "https-only"
    # AWS managed SecurityHeadersPolicy (HSTS, nosniff, frame and referrer policies).
    assert behavior["response_headers_policy_id"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"


def test_rest_api_answers_only_the_cloudfront_referer(api: dict) -> None:
    """API Gateway refuses a direct call itself: only the origin value as Referer may invoke."""
    rest_api = one(api, "aws_api_gateway_rest_api")
    [statement] = json.loads(rest_api["policy"])["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == "*"
    assert statement["Action"] == "execute-api:Invoke"
    assert ":execute-api:us-east-1:${data.aws_caller_identity." in statement["Resource"]
    origin_value = one(api, "aws_cloudfront_distribution")["origin"][0]["custom_header"][0]["value"]
    assert statement["Condition"] == {"StringEquals": {"aws:Referer": origin_value}}
    # A new policy or a new origin value redeploys (a policy applies only once deployed).
    triggers = one(api, "aws_api_gateway_deployment")["triggers"]
    assert len(triggers["policy"]) == 64
    assert triggers["origin_value_version"].endswith(".version_id}")


def test_waf_acl_in_us_east_1_with_managed_groups_rate_rule_and_logging(api: dict) -> None:
    acl = one(api, "aws_wafv2_web_acl")
    assert acl["scope"] == "CLOUDFRONT"
    assert acl["provider"] == "aws.us_east_1"
    providers = {p.get("alias"): p["region"] for p in api["provider"]["aws"]}
    assert providers["us_east_1"] == "us-east-1"
    groups = {
        r["statement"]["managed_rule_group_statement"]["name"]
        for r in acl["rule"]
        if "managed_rule_group_statement" in r["statement"]
    }
    assert groups == {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }
    [rate] = [r for r in acl["rule"] if "rate_based_statement" in r["statement"]]
    assert rate["action"] == {"block": {}}
    logging = one(api, "aws_wafv2_web_acl_logging_configuration")
    assert logging["log_destination_configs"][0].startswith("${aws_cloudwatch_log_group.")
    # The bearer token never reaches the WAF log.
    assert logging["redacted_fields"] == [{"single_header": {"name": "authorization"}}]
    waf_group = next(
        g
        for g in resources(api, "aws_cloudwatch_log_group")
        if g["name"].startswith("aws-waf-logs-")
    )
    assert waf_group["provider"] == "aws.us_east_1"


def test_waf_logs_share_the_project_key_in_us_east_1(stacks) -> None:
    """One key less in the default region (a key costs $1-3 a month): the foundation key's
    policy lets Logs use it for the WAF log group too."""
    api = stacks["api"]
    assert resources(api, "aws_kms_key") == []
    waf_group = next(
        g for g in resources(api, "aws_cloudwatch_log_group") if g["name"].startswith("aws-waf")
    )
    assert waf_group["kms_key_id"].startswith("${data.terraform_remote_state.")
    [key] = resources(stacks["foundation"], "aws_kms_key")
    [logs] = [s for s in json.loads(key["policy"])["Statement"] if s["Sid"].startswith("Logs")]
    patterns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert [p.rsplit(":", 1)[-1] for p in patterns] == [
        "/cloudagent/dev/*",
        "aws-waf-logs-cloudagent-dev",
    ]


def test_waf_logs_get_a_us_east_1_key_elsewhere(variant_stacks) -> None:
    """The log group must be in us-east-1 beside the web ACL, and its key in the same region."""
    stacks = variant_stacks("egress_off")  # region eu-west-1
    [key] = resources(stacks["api"], "aws_kms_key")
    assert key["provider"] == "aws.us_east_1" and key["enable_key_rotation"] is True
    [logs] = [s for s in json.loads(key["policy"])["Statement"] if s["Sid"].startswith("Logs")]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    [pattern] = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert ":logs:us-east-1:" in pattern
    assert pattern.endswith(":log-group:aws-waf-logs-cloudagent-dev")
    [foundation_key] = resources(stacks["foundation"], "aws_kms_key")
    assert "aws-waf-logs" not in foundation_key["policy"]


def test_deployment_zip_holds_sources_and_dependencies_only(synth_local, functions) -> None:
    """Built from a clean copy: no bytecode or caches from the working tree, no boto3."""
    import zipfile

    [path] = {f["filename"] for f in functions.values()}
    zip_path = synth_local / "stacks" / "api" / path
    names = zipfile.ZipFile(zip_path).namelist()
    assert "app.py" in names and "chalicelib/runs/deployment.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("boto3/", "botocore/"))]
    assert zip_path.stat().st_size <= ZIP_BUDGET_BYTES


def test_runs_may_check_out_only_the_allowed_repositories(functions: dict[str, dict]) -> None:
    """Default: the trusted repository alone (setting allowed_repos)."""
    env = functions["cloudagent-dev-api"]["environment"]["variables"]
    assert env["ALLOWED_REPOS"] == "org/cloudagent"


def test_origin_check_is_never_switched_off_by_the_stack(functions: dict[str, dict]) -> None:
    """The control API fails closed without its origin secret; `ORIGIN_VERIFY=off` (tests and
    local tooling only) must never reach a deployed function."""
    for name, function in functions.items():
        variables = function["environment"]["variables"]
        assert "ORIGIN_VERIFY" not in variables, name
        assert variables["ORIGIN_VERIFY_SECRET_ARN"], name


def test_each_provider_has_its_task_definition_and_no_single_one_remains(
    functions: dict[str, dict],
) -> None:
    variables = functions["cloudagent-dev-api"]["environment"]["variables"]
    assert "TASK_DEFINITION_ARN" not in variables
    arns = json.loads(variables["TASK_DEFINITION_ARNS"])
    assert set(arns) == set(json.loads(variables["PROVIDER_SECRET_ARNS"]))
    assert len(set(arns.values())) == len(arns)


def test_runs_with_a_repository_get_the_repo_families(functions: dict[str, dict]) -> None:
    """Same providers, other families: the `-repo` ones, which alone have repo-init."""
    variables = functions["cloudagent-dev-api"]["environment"]["variables"]
    arns = json.loads(variables["TASK_DEFINITION_ARNS"])
    repo_arns = json.loads(variables["REPO_TASK_DEFINITION_ARNS"])
    assert set(repo_arns) == set(arns)
    for provider, arn in repo_arns.items():
        assert f"task_definition_{provider}_repo" in arn and arn != arns[provider]
        assert f"task_definition_{provider}_repo" not in arns[provider]
