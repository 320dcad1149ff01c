"""The REST API's resource policy: API Gateway itself refuses callers that went around CloudFront.

A REST API's execute-api endpoint is public whatever we do (disabling it needs a custom domain
and certificate the operator may not own). The control Lambda refuses a request without the
`X-Origin-Verify` value, but only after API Gateway has run the stage and invoked the Lambda:
every direct call costs an invocation and holds one of its few reserved slots. API Gateway
evaluates a resource policy before the integration, and of the keys such a policy can test on
an unauthenticated call (AWS's "condition keys that can be used in API Gateway resource
policies": `aws:SourceIp`, `aws:Referer`, `aws:UserAgent`, `aws:SecureTransport`, time;
`aws:SourceVpc(e)` only for private APIs) only a header can carry a secret. CloudFront's
origin-facing IP ranges change and would not exclude other CloudFront customers anyway. So
CloudFront sends the origin-verify value as `Referer` too (an origin custom header overwrites
the viewer's), and the policy allows `execute-api:Invoke` only with exactly that `Referer`: a
direct call gets API Gateway's own 403 without reaching the Lambda. What remains is in
docs/ARCHITECTURE.md §5.4.
"""

from __future__ import annotations

import json

from stacks.shared.constants import ORIGIN_REFERER_KEY


def origin_only_policy_json(api_arn_pattern: str, origin_value: str) -> str:
    """Allow `execute-api:Invoke` to any caller whose `Referer` is exactly the origin value.

    No other Allow exists, and with no authorizer API Gateway denies whatever the policy does
    not explicitly allow. `Principal: "*"` is the point: callers are anonymous at this layer (the
    app authenticates GitHub OIDC tokens); the condition, not the principal, narrows it.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyThroughCloudFront",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "execute-api:Invoke",
                    "Resource": api_arn_pattern,
                    "Condition": {"StringEquals": {ORIGIN_REFERER_KEY: origin_value}},
                }
            ],
        }
    )
