"""The containers of an ECS task definition, as the project's checks read them.

An agent task definition holds several containers (`agent`, `model-proxy`, and `repo-init` in
the `-repo` families); the checks judge every container (CKV_CA_5..8) or one by name
(CKV_CA_23..25), so both views are here, parsed the same way in both Checkov frameworks.
"""

from __future__ import annotations

from typing import Any

from security.checklib import Unknown, as_list, json_attr


def containers(conf: dict[str, Any]) -> list[dict[str, Any]]:
    """The task definition's containers, parsed from the `container_definitions` JSON string.

    Checkov's own container checks read this attribute as if it were structured and pass on
    cdktf output (docs/ARCHITECTURE.md §10), so the project checks parse it themselves.
    """
    parsed = json_attr(conf, "container_definitions")
    found = [c for c in as_list(parsed) if isinstance(c, dict)]
    if not found:
        raise Unknown("container_definitions holds no container")
    return found


def containers_named(conf: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The containers called `name` (a sound definition has one; a check says when not)."""
    return [c for c in containers(conf) if c.get("name") == name]


def container_name(container: dict[str, Any]) -> str:
    return f"container '{container.get('name', '?')}'"


def env_value(container: dict[str, Any], name: str) -> str | None:
    """The plain `environment` value of `name` in one container, None when it is not set."""
    for entry in as_list(container.get("environment")):
        if isinstance(entry, dict) and entry.get("name") == name:
            return str(entry.get("value", ""))
    return None
