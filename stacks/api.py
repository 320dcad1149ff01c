"""The `api` stack: the control plane (DESIGN §1, issue 4)."""

from __future__ import annotations

from constructs import Construct

from stacks.agent import AgentStack
from stacks.base import CloudAgentStack
from stacks.settings import Settings


class ApiStack(CloudAgentStack):
    """The control plane; its contents land with the api issue."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, agent: AgentStack) -> None:
        super().__init__(scope, id, settings=settings)
        self.agent = agent
