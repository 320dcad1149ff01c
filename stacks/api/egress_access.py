"""What the control API needs of the egress allow-list (docs/ARCHITECTURE.md §5.7, §6).

The API reports a run's blocked names from the DNS Firewall's query log and, when runs may
add domains (`egress_run_domains_allowed`), writes them into the run-domain list while the run
runs. Both are optional in `foundation`, so the variables and the statements exist only with
the resources they name: no permission on something that is not there.
"""

from __future__ import annotations

from stacks.foundation import FoundationOutputs
from stacks.shared.actions import EGRESS_QUERY_LOG_READ, RUN_DOMAIN_LIST_WRITE
from stacks.shared.iam import Statement
from stacks.shared.settings import Settings


def egress_environment(settings: Settings, foundation: FoundationOutputs) -> dict[str, str]:
    """`EGRESS_MODE`, `EGRESS_RUN_DOMAINS_ALLOWED` always; the log group, list when present."""
    environment = {
        "EGRESS_MODE": settings.egress_mode,
        "EGRESS_RUN_DOMAINS_ALLOWED": ",".join(settings.run_egress_domains),
    }
    if foundation.egress_query_log_group_name:
        environment["EGRESS_QUERY_LOG_GROUP"] = foundation.egress_query_log_group_name
    if foundation.run_domain_list_id:
        environment["EGRESS_RUN_DOMAIN_LIST_ID"] = foundation.run_domain_list_id
    return environment


def egress_statements(foundation: FoundationOutputs) -> list[Statement]:
    """Read the query log group; list and update the run-domain list. Only what exists."""
    statements = []
    if foundation.egress_query_log_group_arn:
        arn = foundation.egress_query_log_group_arn
        statements.append(
            Statement(
                sid="ReadDnsQueryLog",
                actions=EGRESS_QUERY_LOG_READ,
                resources=[arn, f"{arn}:*"],
            )
        )
    if foundation.run_domain_list_arn:
        statements.append(
            Statement(
                sid="RunDomainList",
                actions=RUN_DOMAIN_LIST_WRITE,
                resources=[foundation.run_domain_list_arn],
            )
        )
    return statements
