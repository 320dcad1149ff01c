"""The `agent` stack: the one ECS task definition and its roles (DESIGN §1, issue 3)."""

from __future__ import annotations

from constructs import Construct

from stacks.base import CloudAgentStack
from stacks.foundation import FoundationStack
from stacks.settings import Settings


class AgentStack(CloudAgentStack):
    """The runtime; its contents land with the agent issue."""

    def __init__(
        self, scope: Construct, id: str, *, settings: Settings, foundation: FoundationStack
    ) -> None:
        super().__init__(scope, id, settings=settings)
        self.foundation = foundation
