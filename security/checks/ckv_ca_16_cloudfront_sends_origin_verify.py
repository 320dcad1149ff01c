"""CKV_CA_16: every CloudFront origin sends the origin-verify value, as both headers.

The REST API's execute-api endpoint is public by nature; what keeps callers from going around
CloudFront (and so around the WAF of CKV_CA_11/12) is that CloudFront adds `X-Origin-Verify`
with a secret value and the control API refuses requests without it (CKV_CA_17), and sends the
same value as `Referer`, which the REST API's resource policy requires (CKV_CA_21). An origin
without either header would either be refused or, worse, be a reason to turn a check off.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, Unknown, blocks, unwrap
from stacks.shared.constants import ORIGIN_REFERER_HEADER, ORIGIN_VERIFY_HEADER


class CloudfrontSendsOriginVerify(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"CloudFront origins send the origin-verify value as {ORIGIN_VERIFY_HEADER} (the "
            f"Lambda's check) and {ORIGIN_REFERER_HEADER} (the REST API's resource policy)",
            id="CKV_CA_16",
            resources=["aws_cloudfront_distribution"],
            categories=[CheckCategories.NETWORKING],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        if "origin" not in conf:
            raise Unknown("origins not known")
        origins = blocks(conf["origin"])
        if not origins:
            return ["the distribution has no origin"]
        found = []
        for origin in origins:
            name = unwrap(origin.get("origin_id")) or "?"
            headers = {
                str(unwrap(h.get("name"))).lower(): unwrap(h.get("value"))
                for h in blocks(origin.get("custom_header"))
            }
            for header in (ORIGIN_VERIFY_HEADER, ORIGIN_REFERER_HEADER):
                if header.lower() not in headers:
                    found.append(f"origin {name!r} sends no {header} header")
                elif headers[header.lower()] in ("", None):
                    found.append(f"origin {name!r} sends an empty {header} header")
            values = [headers.get(h.lower()) for h in (ORIGIN_VERIFY_HEADER, ORIGIN_REFERER_HEADER)]
            if all(values) and values[0] != values[1]:
                found.append(f"origin {name!r} sends different values in the two headers")
        return found


check = CloudfrontSendsOriginVerify()
