"""The only way in: CloudFront with a WAFv2 web ACL in front of the regional API.

The API Gateway endpoint itself stays reachable on the internet (REST APIs always are), so
CloudFront adds an `X-Origin-Verify` header whose value lives in Secrets Manager and the control
Lambda refuses any request without it: a call that goes around CloudFront (and so around WAF)
gets a 403. The same value goes as `Referer`, which the REST API's resource policy requires, so
API Gateway refuses such a call before the Lambda runs (stacks/api/origin_gate.py). The value
has to be in CloudFront's configuration and the API's policy, so it is also in this stack's
state; it guards the WAF bypass only, never data. Rotate it by replacing the secret version
(`terraform apply -replace=...`): the policy change redeploys the stage.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudfront_distribution import (
    CloudfrontDistribution,
    CloudfrontDistributionDefaultCacheBehavior,
    CloudfrontDistributionOrigin,
    CloudfrontDistributionOriginCustomHeader,
    CloudfrontDistributionOriginCustomOriginConfig,
    CloudfrontDistributionRestrictions,
    CloudfrontDistributionRestrictionsGeoRestriction,
    CloudfrontDistributionViewerCertificate,
)
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.provider import AwsProvider
from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclRule,
    Wafv2WebAclRuleOverrideAction,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from stacks.api.control_plane import API_STAGE
from stacks.api.origin_verify import OriginVerifySecret
from stacks.shared.arns import Arns
from stacks.shared.constants import (
    COMMON_BODY_SIZE_RULE,
    EDGE_REGION,
    ORIGIN_REFERER_HEADER,
    ORIGIN_VERIFY_HEADER,
)
from stacks.shared.kms import key_policy_json
from stacks.shared.logs import project_log_group
from stacks.shared.settings import Settings
from stacks.shared.tags import default_tags

# AWS managed rule groups on the ACL, in evaluation order (docs/ARCHITECTURE.md §1).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
RATE_LIMIT_PER_5_MINUTES = 1000
# AWS managed CloudFront policies (IDs are global constants): never cache an API response, and
# forward everything the API reads except Host (API Gateway routes by its own host name).
CACHING_DISABLED_POLICY = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_POLICY = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# AWS managed SecurityHeadersPolicy: HSTS, nosniff, frame and referrer policies on responses.
SECURITY_HEADERS_POLICY = "67f7725c-6f97-4210-82d7-5512b31e9d03"


def _visibility(metric: str) -> dict:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric,
        "sampled_requests_enabled": True,
    }


def _managed(group: str) -> dict:
    """A managed group as AWS ships it, but the Common set's 8 KB body rule only counts: the API
    takes bodies up to 64 KiB (a long prompt) and refuses larger ones itself (413). A WAF rule
    of its own for that limit would be a sixth rule, $1 a month over the idle budget."""
    statement: dict = {"name": group, "vendor_name": "AWS"}
    if group == "AWSManagedRulesCommonRuleSet":
        statement["rule_action_override"] = [
            {"name": COMMON_BODY_SIZE_RULE, "action_to_use": {"count": {}}}
        ]
    return statement


class Edge(Construct):
    """WAFv2 ACL (us-east-1, CLOUDFRONT scope) with logging; CloudFront sending the origin value."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        api_domain: str,
        origin_verify: OriginVerifySecret,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        self._settings = settings
        # CloudFront-scope WAF resources exist only in us-east-1, whatever the stack's region.
        us_east_1 = AwsProvider(
            self,
            "us_east_1",
            alias="us_east_1",
            region=EDGE_REGION,
            # The same tags as the stack's own provider: the deploy role's writes on keys and
            # log groups here are scoped by them (stacks/shared/tags.py).
            default_tags=[{"tags": default_tags(settings.env_name, "api")}],
        )
        self.web_acl = self._web_acl(us_east_1)
        self._waf_logging(us_east_1, kms_key_arn)
        self.distribution = self._distribution(api_domain, origin_verify.version.secret_string)

    def _web_acl(self, us_east_1: AwsProvider) -> Wafv2WebAcl:
        """AWS managed rule groups, then a per-IP rate limit."""
        name = self._settings.prefix
        return Wafv2WebAcl(
            self,
            "web_acl",
            provider=us_east_1,
            name=name,
            description="Cloud Agent Studio control API",
            scope="CLOUDFRONT",
            default_action=Wafv2WebAclDefaultAction(allow={}),
            visibility_config=Wafv2WebAclVisibilityConfig(**_visibility(name)),
            rule=[
                *(
                    Wafv2WebAclRule(
                        name=group,
                        priority=priority,
                        override_action=Wafv2WebAclRuleOverrideAction(none={}),
                        # The bindings leave `statement` untyped: Terraform's snake_case keys.
                        statement={"managed_rule_group_statement": _managed(group)},
                        visibility_config=_visibility(group),
                    )
                    for priority, group in enumerate(MANAGED_RULE_GROUPS)
                ),
                Wafv2WebAclRule(
                    name="RateLimitPerIp",
                    priority=len(MANAGED_RULE_GROUPS),
                    action={"block": {}},
                    statement={
                        "rate_based_statement": {
                            "limit": RATE_LIMIT_PER_5_MINUTES,
                            "aggregate_key_type": "IP",
                        }
                    },
                    visibility_config=_visibility("RateLimitPerIp"),
                ),
            ],
        )

    def _waf_logging(self, us_east_1: AwsProvider, kms_key_arn: str) -> None:
        # WAF logs must go to a group named aws-waf-logs-* in us-east-1, encrypted with a key of
        # that region: the project key when the stacks are there (its policy names the group),
        # else a key of its own (a key is $1-3 a month: make cost).
        settings = self._settings
        name = settings.prefix
        arns = Arns.in_scope(self, settings)
        waf_log_group_name = settings.waf_log_group_name
        waf_logs_key_arn = kms_key_arn
        if settings.region != EDGE_REGION:
            waf_logs_key_arn = KmsKey(
                self,
                "waf_logs_key",
                provider=us_east_1,
                description=f"{name}: WAF logs (us-east-1)",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=key_policy_json(
                    account_root=arns.account_root,
                    logs_region=EDGE_REGION,
                    log_group_arns=[arns.log_group(waf_log_group_name, region=EDGE_REGION)],
                ),
            ).arn
        waf_logs = project_log_group(
            self,
            "waf_logs",
            provider=us_east_1,
            name=waf_log_group_name,
            kms_key_arn=waf_logs_key_arn,
        )
        Wafv2WebAclLoggingConfiguration(
            self,
            "web_acl_logging",
            provider=us_east_1,
            resource_arn=self.web_acl.arn,
            log_destination_configs=[waf_logs.arn],
            # Every API call carries a GitHub OIDC token (valid for minutes, but a credential):
            # the WAF log keeps the request's shape, never its bearer token.
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                        name="authorization"
                    )
                )
            ],
        )

    def _distribution(self, api_domain: str, origin_verify_value: str) -> CloudfrontDistribution:
        """HTTPS only, nothing cached, the origin value on every request to the API."""
        return CloudfrontDistribution(
            self,
            "distribution",
            enabled=True,
            comment=f"{self._settings.prefix} control API",
            price_class="PriceClass_100",
            http_version="http2and3",
            web_acl_id=self.web_acl.arn,
            origin=[
                CloudfrontDistributionOrigin(
                    origin_id="api",
                    domain_name=api_domain,
                    origin_path=f"/{API_STAGE}",
                    custom_origin_config=CloudfrontDistributionOriginCustomOriginConfig(
                        http_port=80,
                        https_port=443,
                        origin_protocol_policy="https-only",
                        origin_ssl_protocols=["TLSv1.2"],
                    ),
                    # The value twice: the Lambda checks X-Origin-Verify, the REST API's
                    # resource policy `Referer` (stacks/api/origin_gate.py).
                    custom_header=[
                        CloudfrontDistributionOriginCustomHeader(
                            name=header, value=origin_verify_value
                        )
                        for header in (ORIGIN_VERIFY_HEADER, ORIGIN_REFERER_HEADER)
                    ],
                )
            ],
            default_cache_behavior=CloudfrontDistributionDefaultCacheBehavior(
                target_origin_id="api",
                viewer_protocol_policy="https-only",
                allowed_methods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
                cached_methods=["GET", "HEAD"],
                cache_policy_id=CACHING_DISABLED_POLICY,
                origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_POLICY,
                response_headers_policy_id=SECURITY_HEADERS_POLICY,
                compress=True,
            ),
            restrictions=CloudfrontDistributionRestrictions(
                geo_restriction=CloudfrontDistributionRestrictionsGeoRestriction(
                    restriction_type="none"
                )
            ),
            viewer_certificate=CloudfrontDistributionViewerCertificate(
                cloudfront_default_certificate=True, minimum_protocol_version="TLSv1.2_2021"
            ),
        )
