"""CKV_CA_11: every CloudFront distribution is fronted by a WAFv2 web ACL.

The control API is public; the web ACL (managed rule groups and a per-IP rate limit, CKV_CA_12)
is what stands between the internet and a Lambda that starts dollar-an-hour tasks. The ACL must
be a WAFv2 ACL: an ARN or a reference to an `aws_wafv2_web_acl` (WAF Classic IDs fail).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, attr


class CloudfrontHasWaf(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="CloudFront distributions set web_acl_id to a WAFv2 web ACL",
            id="CKV_CA_11",
            resources=["aws_cloudfront_distribution"],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        acl = str(attr(conf, "web_acl_id") or "")
        if not acl:
            return ["no web_acl_id: the distribution has no WAF"]
        if ":wafv2:" in acl or "aws_wafv2_web_acl" in acl:
            return []
        return [f"web_acl_id {acl!r} is not a WAFv2 web ACL"]


check = CloudfrontHasWaf()
