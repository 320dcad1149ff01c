"""The deployment's settings, each declared exactly once: name, type, default, range, meaning.

Operators configure a deployment through `cdktf.json` context (checked into their fork) and
override any value per shell with a `CLOUDAGENT_<NAME>` environment variable (CI, local runs).
Every field of `Settings` below is the whole declaration of one setting; from it come the
parsing and validation at synth, the settings table of docs/SETTINGS.md
(`python -m devtools.docs`), the workflows' pass-through of `CLOUDAGENT_*` variables and the
limits the control Lambda checks the values it receives against
(`chalice_api/chalicelib/core/lambda_contract.json`). Reading and
checking the values is `setting_loader.py`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.shared.constants import LOCAL_GITHUB_REPO, PROJECT
from stacks.shared.setting_fields import (
    DecimalRange,
    Range,
    domain_list,
    ipv4_cidr,
    matches,
    one_of,
    setting,
)

_GITHUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})"

# What an agent task may resolve by default: the five providers' API hosts, GitHub's git and API
# hosts, the npm registry and PyPI (its index and the host its files come from).
DEFAULT_EGRESS_DOMAINS = (
    "api.anthropic.com",
    "api.openai.com",
    "generativelanguage.googleapis.com",
    "api.x.ai",
    "openrouter.ai",
    "github.com",
    "api.github.com",
    "registry.npmjs.org",
    "pypi.org",
    "files.pythonhosted.org",
)
_DOMAINS_ACCEPTED = "a comma list of lowercase domains, each example.com or *.example.com"


@dataclass(frozen=True)
class Settings:
    """One deployment's configuration; construct it with `load_settings`, never by hand."""

    env_name: str = setting(
        "dev",
        accepted="1-16 lowercase letters or digits, starting with a letter, e.g. dev or prod2",
        # No '-': permissions are scoped by `cloudagent-<env>-*`, and with a hyphen allowed the
        # `dev` deploy role's scopes would match `dev-eu`'s resources.
        help="names every resource `cloudagent-<env>`",
        check=matches(r"[a-z][a-z0-9]{0,15}"),
        lambda_env="APP_STAGE",
    )
    region: str = setting(
        "us-east-1",
        accepted="an AWS region name such as us-east-1 or eu-west-2",
        help="the region of every stack (CloudFront's WAF stays in us-east-1)",
        check=matches(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d"),
    )
    github_repo: str = setting(
        LOCAL_GITHUB_REPO,
        accepted="ORG/REPO, e.g. my-org/cloudagent",
        help="the only repository trusted through GitHub OIDC",
        check=matches(f"{_GITHUB_NAME}/{_GITHUB_NAME}"),
        lambda_env="OIDC_ALLOWED_SUBJECTS",
    )
    github_repository_id: str = setting(
        "",
        accepted="empty or the repository's numeric id (gh api repos/ORG/REPO --jq .id)",
        help="the API requires the token's `repository_id` claim to equal it, so a deleted and "
        "re-created repository of the same name is not trusted; required for every "
        "`github_repo` but the local placeholder org/cloudagent (the workflows' settings "
        "step fills it from the running repository)",
        check=matches(r"|[1-9][0-9]{0,19}"),
        lambda_env="OIDC_REPOSITORY_ID",
    )
    github_environment: str = setting(
        "dev",
        accepted="a GitHub environment name (letters, digits, '_', '.', '-'), e.g. production",
        help="the trusted subject is `repo:ORG/REPO:environment:ENV` (with the `workflow` "
        "subject template followed by the job's workflow file at the default branch)",
        check=matches(r"[A-Za-z0-9_.-]{1,255}"),
        lambda_env="OIDC_ALLOWED_SUBJECTS",
    )
    github_default_branch: str = setting(
        "main",
        accepted="a branch name (letters, digits, '_', '.', '/', '-'; at most 100), e.g. main",
        help="the branch deploys and agent runs come from: the API requires the token's `ref` "
        "to be refs/heads/<branch> and its `job_workflow_ref` to be run-agent.yml on it",
        check=matches(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,99}"),
        lambda_env="OIDC_REF",
    )
    github_subject_template: str = setting(
        "workflow",
        accepted="workflow or default",
        help="the repository's OIDC subject template: `workflow` (set once on the repository, "
        "docs/OPERATIONS.md) puts the job's workflow file and ref in the subject, so each role "
        "trusts only its own workflow on the default branch; `default` is GitHub's default, "
        "any workflow in the environment",
        check=one_of("workflow", "default"),
        lambda_env="OIDC_ALLOWED_SUBJECTS",
    )
    state_bucket: str | None = setting(
        None,
        accepted="an S3 bucket name (3-63 lowercase letters, digits, '.', '-') or unset for "
        "local state",
        help="S3 bucket of the three states; unset (or empty) means local state",
        check=lambda v: v is None or bool(re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", v)),
    )
    vpc_cidr: str = setting(
        "10.40.0.0/16",
        accepted="an IPv4 CIDR from /16 to /26 (two AZs of public and private subnets), "
        "e.g. 10.40.0.0/16",
        help="the VPC, quartered into 2 public + 2 private subnets",
        check=ipv4_cidr(16, 26),
    )
    network_mode: str = setting(
        "public",
        accepted="public or nat",
        help="`public`: agent tasks in the public subnets with a public IPv4 and no NAT gateway; "
        "`nat`: private subnets behind NAT gateways (a fixed egress IP for third-party "
        "allow-lists, about $37 a month per gateway)",
        check=one_of("public", "nat"),
        lambda_env="ASSIGN_PUBLIC_IP",
    )
    nat_gateway_count: int = setting(
        1,
        accepted="1 (one shared NAT gateway) or 2 (one per AZ)",
        help="NAT gateways for the private subnets; only with network_mode `nat`",
        check=one_of(1, 2),
    )
    egress_mode: str = setting(
        "enforce",
        accepted="enforce, observe or off",
        help="Route 53 Resolver DNS Firewall on the VPC: `enforce` refuses every name outside "
        "the allow-list, `observe` only logs (alerts on) them, `off` creates no firewall",
        check=one_of("enforce", "observe", "off"),
        lambda_env="EGRESS_MODE",
    )
    egress_allow_domains: str = setting(
        ",".join(DEFAULT_EGRESS_DOMAINS),
        accepted=_DOMAINS_ACCEPTED,
        help="names agent tasks may resolve (the AWS endpoints ECS itself needs are added)",
        check=domain_list(allow_empty=False),
    )
    egress_run_domains_allowed: str = setting(
        "",
        accepted=f"empty (no per-run additions) or {_DOMAINS_ACCEPTED}",
        help="domains a run or session may add for itself (`egress_domains` of POST /v1/runs "
        "and /v1/sessions); they are open to the whole VPC while such a run is running",
        check=domain_list(allow_empty=True),
        lambda_env="EGRESS_RUN_DOMAINS_ALLOWED",
    )
    capacity: str = setting(
        "on-demand",
        accepted="on-demand, spot or spot-then-on-demand",
        help="Fargate capacity of agent tasks; `spot-then-on-demand` starts a run on on-demand "
        "(once) when Spot has no capacity",
        check=one_of("on-demand", "spot", "spot-then-on-demand"),
        lambda_env="CAPACITY",
    )
    agent_image_tag: str = setting(
        "latest",
        accepted="a Docker tag (letters, digits, '_', '.', '-'; at most 128), e.g. a commit SHA",
        help="the agent image's tag; in production the commit SHA the image workflow pushed",
        check=matches(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
    )
    agent_architecture: str = setting(
        "X86_64",
        accepted="X86_64 or ARM64",
        help="CPU architecture of the agent task",
        check=one_of("X86_64", "ARM64"),
        lambda_env="TASK_HOURLY_COST_USD",
    )
    max_concurrent_runs: int = setting(
        5,
        accepted="a whole number from 1 to 100 (each running task costs about a dollar an hour)",
        help="agent tasks running at once; the control API refuses more with 429",
        check=Range(1, 100),
        lambda_env="MAX_CONCURRENT_RUNS",
    )
    max_run_cost_usd: float = setting(
        25.0,
        accepted="a decimal number of US dollars from 0.01 to 1000, at most 2 decimals, "
        "e.g. 25 or 7.50",
        help="the model spend cap of one run or session: the model proxy refuses further "
        "model calls once the run's cost reaches it (a request's `max_cost_usd` may only "
        "lower it)",
        check=DecimalRange(0.01, 1000.0),
        lambda_env="MAX_RUN_COST_USD",
    )
    api_reserved_concurrency: int = setting(
        20,
        accepted="a whole number from 1 to 1000",
        help="reserved executions of the control API Lambda",
        check=Range(1, 1000),
    )
    api_oidc_audience: str = setting(
        "",
        accepted="empty (defaults to cloudagent-<env>) or 1-128 characters without spaces or "
        "commas",
        help="the `aud` the API accepts in GitHub OIDC tokens",
        check=matches(r"|[^\s,]{1,128}"),
        lambda_env="OIDC_AUDIENCE",
    )
    allowed_repos: str = setting(
        "",
        accepted="empty (only github_repo) or a comma list of OWNER/NAME, e.g. "
        "my-org/app,my-org/lib",
        help="GitHub repositories a run may check out (`repo` of POST /v1/runs)",
        check=matches(rf"|{_GITHUB_NAME}/{_GITHUB_NAME}(,{_GITHUB_NAME}/{_GITHUB_NAME})*"),
        lambda_env="ALLOWED_REPOS",
    )
    private_repos: bool = setting(
        False,
        accepted="true or false",
        help="`true` creates a secret for a read-only GitHub token (contents:read) that every "
        "agent task gets for the clone only; runs are refused until it has a value",
        check=one_of(True, False),
        lambda_env="REPO_TOKEN_SECRET_ARN",
    )
    artifact_retention_days: int = setting(
        30,
        accepted="a whole number of days from 1 to 365",
        help="days the artifact bucket keeps a run's saved conversation and a continued run's "
        "bundle; S3 then deletes them, and a later continuation of that run gets no "
        "conversation",
        check=Range(1, 365),
    )
    github_oidc_provider_exists: bool = setting(
        False,
        accepted="true or false",
        help="`true` when the account already has GitHub's OIDC provider (IAM allows one per "
        "URL): foundation looks it up instead of creating it",
        check=one_of(True, False),
    )

    @property
    def prefix(self) -> str:
        """Resource-name prefix; deploy-role permissions are scoped by it."""
        return f"{PROJECT}-{self.env_name}"

    @property
    def log_group_prefix(self) -> str:
        """Every project log group lives under it; the KMS key policy for logs is scoped by it."""
        return f"/{PROJECT}/{self.env_name}"

    @property
    def waf_log_group_name(self) -> str:
        """WAF logs only to groups named `aws-waf-logs-*`, in the web ACL's region (us-east-1)."""
        return f"aws-waf-logs-{self.prefix}"

    def log_group_name(self, purpose: str) -> str:
        return f"{self.log_group_prefix}/{purpose}"

    @property
    def egress_domains(self) -> list[str]:
        """The DNS names agent tasks may resolve (`egress_allow_domains`, as a list)."""
        return self.egress_allow_domains.split(",")

    @property
    def run_egress_domains(self) -> list[str]:
        """The names a run may add for itself; empty: no per-run additions."""
        return self.egress_run_domains_allowed.split(",") if self.egress_run_domains_allowed else []

    @property
    def api_audience(self) -> str:
        """The `aud` the control API accepts; workflows request tokens for it."""
        return self.api_oidc_audience or self.prefix

    @property
    def run_repositories(self) -> list[str]:
        """Repositories a run may check out: `allowed_repos`, or else `github_repo` alone."""
        return self.allowed_repos.split(",") if self.allowed_repos else [self.github_repo]

    def state_key(self, stack: str) -> str:
        return f"{PROJECT}/{self.env_name}/{stack}.tfstate"
