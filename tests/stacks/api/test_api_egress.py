"""The api stack's side of egress: the Lambda environment and the API role, per egress mode.

Contract with the control API (chalice_api): `EGRESS_MODE` always; `EGRESS_RUN_DOMAINS_ALLOWED`
always (comma list, "" when none); `EGRESS_QUERY_LOG_GROUP` only with a firewall;
`EGRESS_RUN_DOMAIN_LIST_ID` only when runs may add domains. Permissions exist only with the
resource they name.
"""

from __future__ import annotations

from tests.support.synthesized import policy_of, resources


def _env(api: dict) -> dict[str, str]:
    return resources(api, "aws_lambda_function")[0]["environment"]["variables"]


def _sids(api: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy_of(api, "-api")}


def test_enforce_without_run_domains(stacks) -> None:
    env = _env(stacks["api"])
    assert env["EGRESS_MODE"] == "enforce"
    assert env["EGRESS_RUN_DOMAINS_ALLOWED"] == ""
    assert "egress_query_log_group" in env["EGRESS_QUERY_LOG_GROUP"]
    assert env["EGRESS_QUERY_LOG_GROUP"].startswith("${data.terraform_remote_state.")
    assert "EGRESS_RUN_DOMAIN_LIST_ID" not in env
    sids = _sids(stacks["api"])
    read = sids["ReadDnsQueryLog"]
    assert read["Action"] == "logs:FilterLogEvents"
    assert all("query_log_group" in r for r in read["Resource"])
    assert "RunDomainList" not in sids


def test_observe_with_run_domains(variant_stacks) -> None:
    api = variant_stacks("nat_observe")["api"]
    env = _env(api)
    assert env["EGRESS_MODE"] == "observe"
    assert env["EGRESS_RUN_DOMAINS_ALLOWED"] == "example.com,*.example.org"
    assert "run_domains" in env["EGRESS_RUN_DOMAIN_LIST_ID"]
    run_list = _sids(api)["RunDomainList"]
    assert sorted(run_list["Action"]) == [
        "route53resolver:ListFirewallDomains",
        "route53resolver:UpdateFirewallDomains",
    ]
    assert "run_domains" in run_list["Resource"] and "arn" in run_list["Resource"]


def test_off_has_no_query_log_and_no_permission_for_it(variant_stacks) -> None:
    api = variant_stacks("egress_off")["api"]
    env = _env(api)
    assert env["EGRESS_MODE"] == "off"
    assert "EGRESS_QUERY_LOG_GROUP" not in env and "EGRESS_RUN_DOMAIN_LIST_ID" not in env
    sids = _sids(api)
    assert "ReadDnsQueryLog" not in sids and "RunDomainList" not in sids
