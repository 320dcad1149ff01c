"""The `model-proxy` sidecar: the only container that holds the provider's key.

Containers of a Fargate task share its network namespace (awsvpc) but not its process
namespace, so the agent reaches the proxy on 127.0.0.1 and cannot read the proxy's environment.
The proxy forwards to its provider's API host only, adds the real credential, meters every
call and refuses calls once the run's spend cap is reached (`MODEL_PROXY_MAX_COST_USD`, the
setting `max_run_cost_usd` unless the run asks for less). Its share of the task is small and
fixed: 256 CPU units and a hard 512 MiB, taken from the largest Fargate shape the task keeps.
"""

from __future__ import annotations

from typing import Any

from stacks.agent.containers.base import environment, hardened, log_configuration
from stacks.shared.constants import (
    MODEL_PROXY_CONTAINER_NAME,
    MODEL_PROXY_CPU_UNITS,
    MODEL_PROXY_MEMORY_MIB,
    MODEL_PROXY_PORT,
    MODEL_PROXY_UID,
    PROVIDER_KEY_ENV,
)
from stacks.shared.setting_fields import decimal_text
from stacks.shared.settings import Settings

MODEL_PROXY_ENTRYPOINT = "/usr/local/bin/model-proxy"


def model_proxy_container(
    settings: Settings, *, image: str, log_group: str, provider: str, secret_arn: str
) -> dict[str, Any]:
    """The proxy as ECS runs it: its own uid, no mount, exactly its provider's key."""
    return {
        "name": MODEL_PROXY_CONTAINER_NAME,
        "image": image,
        # Without the proxy the agent has no model: the task stops with it.
        "essential": True,
        "entryPoint": [MODEL_PROXY_ENTRYPOINT],
        # Another uid than the agent's (1000): no file of one is the other's by ownership.
        # Read-only root: the proxy writes only to stdout, and no ECS Exec shell can start
        # beside the key.
        **hardened(MODEL_PROXY_UID, writable_root=False),
        "cpu": MODEL_PROXY_CPU_UNITS,
        "memory": MODEL_PROXY_MEMORY_MIB,
        "environment": environment(
            {
                "MODEL_PROXY_PROVIDER": provider,
                "MODEL_PROXY_PORT": str(MODEL_PROXY_PORT),
                "MODEL_PROXY_MAX_COST_USD": decimal_text(settings.max_run_cost_usd),
            }
        ),
        # ECS resolves it at task start with the execution role; the agent never holds it.
        "secrets": [{"name": PROVIDER_KEY_ENV[provider], "valueFrom": secret_arn}],
        "logConfiguration": log_configuration(settings, log_group),
    }
