"""Settings -> three stacks -> synth. `main.py` and the tests share this one path."""

from __future__ import annotations

from pathlib import Path

from cdktf import App

from stacks.agent import AgentStack
from stacks.api import ApiStack
from stacks.foundation import FoundationStack
from stacks.shared.settings import Settings


def build_app(settings: Settings, outdir: str | Path = "cdktf.out") -> App:
    """The app with its stacks in dependency order: foundation -> agent -> api."""
    app = App(outdir=str(outdir), skip_validation=False)
    foundation = FoundationStack(app, "foundation", settings=settings)
    agent = AgentStack(app, "agent", settings=settings, foundation=foundation.outputs)
    ApiStack(app, "api", settings=settings, foundation=foundation.outputs, agent=agent.outputs)
    return app
