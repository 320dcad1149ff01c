"""CKV_CA_7: provider keys reach containers only as Secrets Manager `secrets`, never as env.

Plain `environment` values are stored in the task definition (readable by anyone with
`ecs:DescribeTaskDefinition`) and in Terraform state. So: no provider key variable and no
key-like name (`*_KEY`, `*SECRET*`, `*TOKEN*`, `*PASSWORD*`, `*CREDENTIAL*`) in `environment`,
no value that looks like a key, no `environmentFiles`, and every `secrets` entry resolved from
Secrets Manager. Every container of the task definition is held to this, the sidecars as much
as the agent. And one provider key per task definition, so a task holds only the key of the one
provider its task definition is for (one task definition per provider); which container holds it
is CKV_CA_24's rule.
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
from stacks.shared.constants import PROVIDER_KEY_ENV

KEY_LIKE_NAME = re.compile(r"(^|_)(API_?)?KEY(_|$)|SECRET|TOKEN|PASSW(OR)?D|CREDENTIAL", re.I)
# sk-... (OpenAI/Anthropic/OpenRouter), xai-..., AIza... (Google): values that are keys.
KEY_LIKE_VALUE = re.compile(r"^(sk-|sk_|xai-|AIza)[A-Za-z0-9_-]{16,}")
SECRETS_MANAGER = re.compile(r"^arn:[^:]+:secretsmanager:|aws_secretsmanager_secret")


class EcsContainerKeysOnlyFromSecrets(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS containers get provider keys only as Secrets Manager secrets, at most one "
            "provider's key per task definition: no key-like names or values in environment, "
            "no environmentFiles",
            id="CKV_CA_7",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.SECRETS],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        provider_keys = set(PROVIDER_KEY_ENV.values())
        injected: set[str] = set()
        for container in containers(conf):
            where = container_name(container)
            for entry in as_list(container.get("environment")):
                name = str((entry or {}).get("name", ""))
                value = str((entry or {}).get("value", ""))
                if name in provider_keys:
                    found.append(f"{where}: provider key {name} in plain environment")
                elif KEY_LIKE_NAME.search(name):
                    found.append(f"{where}: key-like variable {name} in plain environment")
                if KEY_LIKE_VALUE.match(value):
                    found.append(f"{where}: environment {name} holds what looks like a key")
            if container.get("environmentFiles"):
                found.append(f"{where}: environmentFiles bypass Secrets Manager")
            for entry in as_list(container.get("secrets")):
                if str((entry or {}).get("name", "")) in provider_keys:
                    injected.add(str(entry["name"]))
                value_from = str((entry or {}).get("valueFrom", ""))
                if not SECRETS_MANAGER.search(value_from):
                    found.append(
                        f"{where}: secret {(entry or {}).get('name')} is not from Secrets Manager "
                        f"({value_from!r})"
                    )
        if len(injected) > 1:
            found.append(
                f"{len(injected)} provider keys in one task definition "
                f"({', '.join(sorted(injected))}); one task definition per provider injects "
                "only its own"
            )
        return found


check = EcsContainerKeysOnlyFromSecrets()
