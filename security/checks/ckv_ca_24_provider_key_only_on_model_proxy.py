"""CKV_CA_24: an agent task definition holds exactly one provider key, on `model-proxy` alone.

The proxy is the one container that talks to the provider with the real key: the agent calls it
on 127.0.0.1 with a placeholder and cannot read its environment (another container, another
process namespace). So each task definition injects exactly one provider's key; it is on the
`model-proxy` container; that container holds no other secret; and the key is the one of the
provider the proxy is configured for (`MODEL_PROXY_PROVIDER`), so a proxy cannot be handed a key
it would forward to the wrong API.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from checkov.common.models.enums import CheckCategories

from security.checklib import ProjectCheck, as_list
from security.ecs_containers import containers, containers_named, env_value
from stacks.shared.constants import MODEL_PROXY_CONTAINER_NAME, PROVIDER_KEY_ENV

KEY_PROVIDER = {env: provider for provider, env in PROVIDER_KEY_ENV.items()}


def secret_names(container: dict[str, Any]) -> list[str]:
    return [str((e or {}).get("name", "?")) for e in as_list(container.get("secrets"))]


class ProviderKeyOnlyOnModelProxy(ProjectCheck):
    def __init__(self) -> None:
        super().__init__(
            name="ECS agent task definitions inject exactly one provider key, on the "
            "`model-proxy` container only, matching its MODEL_PROXY_PROVIDER, and nothing "
            "else on that container",
            id="CKV_CA_24",
            resources=["aws_ecs_task_definition"],
            categories=[CheckCategories.SECRETS],
        )

    def problems(self, conf: dict[str, Any]) -> list[str]:
        found: list[str] = []
        keys = [
            (str(c.get("name", "?")), name)
            for c in containers(conf)
            for name in secret_names(c)
            if name in KEY_PROVIDER
        ]
        found += [
            f"provider key {key} on container '{where}', not on '{MODEL_PROXY_CONTAINER_NAME}'"
            for where, key in keys
            if where != MODEL_PROXY_CONTAINER_NAME
        ]
        if len(keys) != 1:
            found.append(f"{len(keys)} provider keys in the task definition; exactly one")
        proxies = containers_named(conf, MODEL_PROXY_CONTAINER_NAME)
        if len(proxies) != 1:
            return [
                *found,
                f"{len(proxies)} '{MODEL_PROXY_CONTAINER_NAME}' containers; exactly one",
            ]
        return found + _proxy_problems(proxies[0])


def _proxy_problems(proxy: dict[str, Any]) -> list[str]:
    """The proxy's secrets are its provider's key and nothing else."""
    names = secret_names(proxy)
    provider = env_value(proxy, "MODEL_PROXY_PROVIDER")
    expected = PROVIDER_KEY_ENV.get(provider or "")
    if expected is None:
        return [f"'{MODEL_PROXY_CONTAINER_NAME}' has no known MODEL_PROXY_PROVIDER ({provider!r})"]
    if names != [expected]:
        return [
            f"'{MODEL_PROXY_CONTAINER_NAME}' for {provider} holds secrets {names}; "
            f"exactly [{expected!r}]"
        ]
    return []


check = ProviderKeyOnlyOnModelProxy()
