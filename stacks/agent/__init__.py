"""The `agent` workspace: the runtime, the one task definition and its roles."""

from stacks.agent.stack import AgentOutputs, AgentStack

__all__ = ["AgentOutputs", "AgentStack"]
