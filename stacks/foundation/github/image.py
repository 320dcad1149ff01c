"""The image role: push (and read back layers of) the one agent repository."""

from __future__ import annotations

from stacks.shared.actions import ECR_LOGIN, ECR_PUSH
from stacks.shared.iam import Statement


def image_statements(repository_arn: str) -> list[Statement]:
    """Registry login and push to the agent repository, nothing else."""
    return [
        # ecr:GetAuthorizationToken has no resource type: AWS accepts only "*".
        Statement(sid="RegistryLogin", actions=ECR_LOGIN, resources=["*"]),
        Statement(sid="PushAgentImage", actions=ECR_PUSH, resources=[repository_arn]),
    ]
