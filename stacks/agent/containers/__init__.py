"""The containers of an agent task, one module each: who runs as whom and holds which secret.

`agent` runs the model's commands and holds no secret; `model_proxy` alone holds the provider's
key; `repo_init` alone holds the clone token and is gone before the agent starts. `base` is the
hardening, logging and mounts all three share. `stacks/agent/container.py` puts them together
into the task definitions' `container_definitions`.
"""
