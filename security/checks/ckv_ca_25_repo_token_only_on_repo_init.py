"""CKV_CA_25: the repository token reaches only the `repo-init` container.

The clone runs before the agent exists: `repo-init` clones into the shared workspace and exits,
and the agent starts after it (`dependsOn` SUCCESS). A token on any other container - the agent,
which runs the model's commands, or the proxy, which the agent can talk to - would outlive the
clone. So `AGENT_REPO_TOKEN` may be a secret of `repo-init` only, never a plain variable
anywhere, and `repo-init` holds no other secret. The token is found by its name and by its
secret (`repo_token` in the reference, `/repo-token` in an ARN), so renaming the variable does
not carry it past the check.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, as_list
from security.ecs_containers import container_name, containers
from stacks.shared.constants import AGENT_REPO_TOKEN_ENV, REPO_INIT_CONTAINER_NAME

# The token's secret as the agent stack references it (cdktf cross-stack output of foundation's
# `repo_token` secret) or as an ARN (`<prefix>/repo-token-AbCdEf`).
REPO_TOKEN_SOURCE = re.compile(r"repo_token|repo-token", re.I)


def is_repo_token(entry: Any) -> bool:
    entry = entry if isinstance(entry, dict) else {}
    return str(entry.get("name", "")) == AGENT_REPO_TOKEN_ENV or bool(
        REPO_TOKEN_SOURCE.search(str(entry.get("valueFrom", "")))
    )


class RepoTokenOnlyOnRepoInit(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS agent task definitions give the repository token (AGENT_REPO_TOKEN) to "
            "the `repo-init` container only, as a secret, and repo-init no other secret",
            id="CKV_CA_25",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.SECRETS],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for container in containers(conf):
            where = container_name(container)
            on_repo_init = container.get("name") == REPO_INIT_CONTAINER_NAME
            for entry in as_list(container.get("environment")):
                if str((entry or {}).get("name", "")) == AGENT_REPO_TOKEN_ENV:
                    found.append(f"{where}: {AGENT_REPO_TOKEN_ENV} in plain environment")
            for entry in as_list(container.get("secrets")):
                name = str((entry or {}).get("name", "?"))
                if is_repo_token(entry) and not on_repo_init:
                    found.append(f"{where}: holds the repository token (as {name})")
                elif on_repo_init and not is_repo_token(entry):
                    found.append(f"{where}: holds {name}; repo-init holds the token alone")
        return found


check = RepoTokenOnlyOnRepoInit()
