"""CKV_CA_14: the GitHub OIDC identity provider is GitHub's issuer and accepts only STS.

`client_id_list` is the audience IAM accepts in web-identity tokens. Only `sts.amazonaws.com`
belongs there; the control API's own audience is checked by the API, not by IAM, and an extra
entry would let tokens minted for another purpose assume roles.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from security.checklib import ProjectCheck, Unknown, as_list, attr
from stacks.shared.constants import GITHUB_OIDC_HOST, GITHUB_OIDC_ISSUER, STS_AUDIENCE


class GithubOidcProviderAudience(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="GitHub OIDC provider: url is GitHub's issuer and client_id_list is exactly "
            "[sts.amazonaws.com]",
            id="CKV_CA_14",
            resources=["aws_iam_openid_connect_provider"],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        url = str(attr(conf, "url") or "")
        if GITHUB_OIDC_HOST not in url:
            raise Unknown("not the GitHub OIDC provider")
        found = []
        # Terraform state (and so a plan after apply) keeps the URL without its scheme.
        if url.rstrip("/") not in (GITHUB_OIDC_ISSUER, GITHUB_OIDC_HOST):
            found.append(f"url {url!r}, must be {GITHUB_OIDC_ISSUER!r}")
        clients = [str(c) for c in as_list(attr(conf, "client_id_list"))]
        if clients != [STS_AUDIENCE]:
            found.append(f"client_id_list {clients!r}, must be [{STS_AUDIENCE!r}]")
        return found


check = GithubOidcProviderAudience()
