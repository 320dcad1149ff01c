"""What each synthesized resource type costs while nothing runs: the table `make cost` prices with.

Every Terraform resource type the three stacks synthesize has an entry, so a new type without
one fails `tests/devtools/test_cost.py` instead of being silently counted as free. An entry
says what one unit costs a month when the platform is idle (us-east-1 list prices, read on
`PRICES_READ`), what a unit is (a resource, a WAF rule, a stored DNS Firewall domain, a
scheduled invocation), why, and the public page the price is from. Types that cost nothing
idle are listed with 0 and the reason: free, or "usage only" with what use is billed.

Conditions under which an entry would be wrong (an interface VPC endpoint, a provisioned-
capacity table, an API cache) are written as `requires`/`forbids`: `devtools/costing.py`
refuses to price such a resource rather than undercount it. Agent-hours are in `prices.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stacks.shared.constants import ECR_IMAGES_KEPT

PRICES_READ = "2026-12-01"
HOURS_PER_MONTH = 730  # AWS's own monthly figure (8,760 h / 12)

VPC = "https://aws.amazon.com/vpc/pricing/"
WAF = "https://aws.amazon.com/waf/pricing/"
KMS = "https://aws.amazon.com/kms/pricing/"
SECRETS = "https://aws.amazon.com/secrets-manager/pricing/"
ROUTE53 = "https://aws.amazon.com/route53/pricing/"
CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
ECR = "https://aws.amazon.com/ecr/pricing/"
DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
LAMBDA = "https://aws.amazon.com/lambda/pricing/"
API_GATEWAY = "https://aws.amazon.com/api-gateway/pricing/"
CLOUDFRONT = "https://aws.amazon.com/cloudfront/pricing/"
ECS = "https://aws.amazon.com/ecs/pricing/"
EVENTBRIDGE = "https://aws.amazon.com/eventbridge/pricing/"
SNS = "https://aws.amazon.com/sns/pricing/"
IAM = "https://aws.amazon.com/iam/"  # "offered at no additional charge"
S3 = "https://aws.amazon.com/s3/pricing/"

# Every public IPv4 address, attached or not: $0.005 an hour (VPC pricing, "Public IPv4").
PUBLIC_IPV4_HOURLY_USD = 0.005
NAT_GATEWAY_HOURLY_USD = 0.045
# The agent image as ECR stores it (compressed layers; BENCHMARKS.md, `make image`), and how
# many the lifecycle policy keeps (ECR_IMAGES_KEPT): an upper bound, images share base layers.
AGENT_IMAGE_COMPRESSED_GB = 0.157
ECR_STORAGE_GB_MONTH_USD = 0.10
# A scheduled invocation: one Lambda request ($0.20 per million) and at most 1 s at 512 MB
# ($0.0000166667 per GB-second, x86); the reaper's DynamoDB read and log line cost less still.
SCHEDULED_INVOCATION_USD = 0.0000002 + 0.5 * 0.0000166667
# AWS managed WAF rule groups that cost only the $1 rule fee; Bot Control, ATP, ACFP and the
# anti-DDoS group add subscription and request fees and need their own entry before use.
FREE_WAF_MANAGED_GROUPS = frozenset(
    {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesAdminProtectionRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesLinuxRuleSet",
        "AWSManagedRulesUnixRuleSet",
        "AWSManagedRulesWindowsRuleSet",
        "AWSManagedRulesPHPRuleSet",
        "AWSManagedRulesWordPressRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
    }
)


@dataclass(frozen=True)
class ResourcePrice:
    """One resource type's idle price per unit, what a unit is, why, and where it is from."""

    monthly_usd: float  # per unit
    per: str  # the unit: resource | rule (WAF) | domain | invocation | advanced rule
    basis: str
    source: str
    fixed_usd: float = 0.0  # per resource, on top of its units (a web ACL's own $5)
    # The price once it has stepped up (KMS: each of a key's first two yearly rotations adds
    # $1/month); None when it never changes.
    later_monthly_usd: float | None = None
    requires: dict[str, object] = field(default_factory=dict)  # attribute -> the value priced
    forbids: tuple[str, ...] = ()  # attributes that, when set, make this entry wrong


def hourly(usd_per_hour: float, basis: str, source: str) -> ResourcePrice:
    return ResourcePrice(round(usd_per_hour * HOURS_PER_MONTH, 4), "resource", basis, source)


def free(
    reason: str,
    source: str,
    requires: dict[str, object] | None = None,
    forbids: tuple[str, ...] = (),
) -> ResourcePrice:
    return ResourcePrice(0.0, "resource", reason, source, requires=requires or {}, forbids=forbids)


def usage(
    billed: str,
    source: str,
    requires: dict[str, object] | None = None,
    forbids: tuple[str, ...] = (),
) -> ResourcePrice:
    return free(f"usage only: {billed}", source, requires, forbids)


_NETWORK_FREE = "free (VPC building block)"
_IAM_FREE = "free (IAM has no charge)"
_LOGS = "ingestion $0.50/GB, storage $0.03/GB-month (14-day retention)"
_VENDED = "vended-log ingestion from $0.50/GB into its log group"

RESOURCE_PRICES: dict[str, ResourcePrice] = {
    # --- network ---
    "aws_nat_gateway": hourly(
        NAT_GATEWAY_HOURLY_USD, "$0.045/h x 730 h (+ $0.045/GB processed, usage)", VPC
    ),
    "aws_eip": hourly(PUBLIC_IPV4_HOURLY_USD, "public IPv4 $0.005/h x 730 h", VPC),
    "aws_vpc": free(_NETWORK_FREE, VPC),
    "aws_subnet": free(_NETWORK_FREE, VPC),
    "aws_route_table": free(_NETWORK_FREE, VPC),
    "aws_route": free(_NETWORK_FREE, VPC),
    "aws_route_table_association": free(_NETWORK_FREE, VPC),
    "aws_internet_gateway": usage("data transfer out $0.09/GB", VPC),
    "aws_default_security_group": free(_NETWORK_FREE, VPC),
    "aws_security_group": free(_NETWORK_FREE, VPC),
    "aws_security_group_rule": free(_NETWORK_FREE, VPC),
    "aws_vpc_security_group_egress_rule": free(_NETWORK_FREE, VPC),
    "aws_vpc_security_group_ingress_rule": free(_NETWORK_FREE, VPC),
    "aws_default_network_acl": free(_NETWORK_FREE, VPC),
    "aws_network_acl": free(_NETWORK_FREE, VPC),
    "aws_network_acl_rule": free(_NETWORK_FREE, VPC),
    "aws_vpc_endpoint": free(
        "free: gateway endpoints (S3, DynamoDB); an interface endpoint is $0.01/h per AZ",
        "https://aws.amazon.com/privatelink/pricing/",
        requires={"vpc_endpoint_type": "Gateway"},
    ),
    "aws_flow_log": usage(_VENDED, CLOUDWATCH),
    # --- DNS Firewall and query logs (Route 53 Resolver) ---
    "aws_route53_resolver_firewall_domain_list": ResourcePrice(
        0.0005, "domain", "$0.0005 per stored domain a month (+ $0.60/M queries, usage)", ROUTE53
    ),
    "aws_route53_resolver_firewall_rule": ResourcePrice(
        round(0.16 * HOURS_PER_MONTH, 4),
        "advanced rule",
        "DNS Firewall Advanced $0.16/h per rule group per VPC association; domain-list "
        "rules cost only their queries",
        ROUTE53,
    ),
    "aws_route53_resolver_firewall_rule_group": usage("$0.60 per million queries", ROUTE53),
    "aws_route53_resolver_firewall_rule_group_association": usage(
        "$0.60 per million queries inspected", ROUTE53
    ),
    "aws_route53_resolver_firewall_config": free("free (fail-open/closed switch)", ROUTE53),
    "aws_route53_resolver_query_log_config": usage(_VENDED, ROUTE53),
    "aws_route53_resolver_query_log_config_association": usage(_VENDED, ROUTE53),
    # --- edge ---
    "aws_wafv2_web_acl": ResourcePrice(
        1.0,
        "rule",
        "$5 per web ACL + $1 per rule a month (free AWS managed groups count as rules); "
        "+ $0.60/M requests, usage",
        WAF,
        fixed_usd=5.0,
    ),
    "aws_wafv2_web_acl_logging_configuration": usage(_VENDED, WAF),
    "aws_cloudfront_distribution": usage(
        "pay-as-you-go requests and transfer, no monthly fee", CLOUDFRONT
    ),
    # --- keys and secrets ---
    "aws_kms_key": ResourcePrice(
        1.0,
        "resource",
        "$1/key a month; each of the first two yearly rotations adds $1",
        KMS,
        later_monthly_usd=3.0,
        forbids=("multi_region",),
    ),
    "aws_kms_alias": free("free", KMS),
    "aws_secretsmanager_secret": ResourcePrice(
        0.40, "resource", "$0.40/secret a month (+ $0.05 per 10,000 API calls, usage)", SECRETS
    ),
    "aws_secretsmanager_secret_version": free("free (billed with its secret)", SECRETS),
    # --- data ---
    "aws_dynamodb_table": usage(
        "on-demand reads/writes; storage $0.25/GB-month (kilobytes here)",
        DYNAMODB,
        requires={"billing_mode": "PAY_PER_REQUEST"},
    ),
    "aws_ecr_repository": ResourcePrice(
        round(ECR_IMAGES_KEPT * AGENT_IMAGE_COMPRESSED_GB * ECR_STORAGE_GB_MONTH_USD, 4),
        "resource",
        f"storage $0.10/GB-month x at most {ECR_IMAGES_KEPT} images of "
        f"{AGENT_IMAGE_COMPRESSED_GB} GB",
        ECR,
    ),
    "aws_ecr_lifecycle_policy": free("free", ECR),
    # The artifact bucket (stacks/api/artifacts.py): an empty bucket costs nothing, and with no
    # runs every object is gone after artifact_retention_days. Per run: a conversation of at
    # most 8 MiB (and a continued run's bundle) stored until it expires, a few requests.
    "aws_s3_bucket": usage(
        "S3 Standard storage $0.023/GB-month until objects expire; PUT $0.005 and GET "
        "$0.0004 per 1,000 requests",
        S3,
    ),
    "aws_s3_bucket_server_side_encryption_configuration": usage(
        "KMS requests $0.03/10,000 with the project key (no key of its own), few with the "
        "bucket key",
        KMS,
    ),
    "aws_s3_bucket_lifecycle_configuration": free(
        "free (expiring objects costs nothing; no transitions)", S3
    ),
    "aws_s3_bucket_ownership_controls": free("free", S3),
    "aws_s3_bucket_public_access_block": free("free", S3),
    "aws_s3_bucket_policy": free("free", S3),
    # --- compute ---
    "aws_ecs_cluster": usage("Fargate task-hours (see the agent-hour table)", ECS),
    "aws_ecs_cluster_capacity_providers": free("free", ECS),
    "aws_ecs_task_definition": free("free", ECS),
    "aws_lambda_function": usage("$0.20/M requests + $0.0000166667/GB-s", LAMBDA),
    "aws_lambda_permission": free("free", LAMBDA),
    # --- API ---
    "aws_api_gateway_rest_api": usage("$3.50 per million requests", API_GATEWAY),
    "aws_api_gateway_deployment": free("free", API_GATEWAY),
    "aws_api_gateway_stage": usage(
        "requests (no cache cluster: that bills hourly)",
        API_GATEWAY,
        forbids=("cache_cluster_enabled",),
    ),
    "aws_api_gateway_method_settings": usage(
        "detailed metrics only when requests come", CLOUDWATCH
    ),
    # --- events, logs, alarms ---
    "aws_cloudwatch_event_rule": ResourcePrice(
        SCHEDULED_INVOCATION_USD,
        "invocation",
        "rules are free; a schedule's Lambda invocation ($0.20/M + <= 1 s at 512 MB)",
        LAMBDA,
    ),
    "aws_cloudwatch_event_target": free("free (AWS service events are free)", EVENTBRIDGE),
    "aws_cloudwatch_log_group": usage(_LOGS, CLOUDWATCH),
    "aws_cloudwatch_log_metric_filter": usage(
        "its custom metric $0.30/month, prorated by the hours it has data", CLOUDWATCH
    ),
    "aws_cloudwatch_metric_alarm": ResourcePrice(
        0.10, "resource", "$0.10 per standard-resolution alarm metric a month", CLOUDWATCH
    ),
    "aws_sns_topic": usage("first million publishes free, then $0.50/M", SNS),
    "aws_sns_topic_subscription": usage("deliveries (email: first 1,000 free)", SNS),
    # --- identity ---
    "aws_iam_role": free(_IAM_FREE, IAM),
    "aws_iam_role_policy": free(_IAM_FREE, IAM),
    "aws_iam_policy": free(_IAM_FREE, IAM),
    "aws_iam_role_policy_attachment": free(_IAM_FREE, IAM),
    "aws_iam_openid_connect_provider": free(_IAM_FREE, IAM),
}
