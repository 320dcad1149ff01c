"""Where `make up` keeps what it started and built: one directory, `.local/` by default.

Everything `make up` leaves running is recorded here (pid files, ports, URLs) so `make down`,
`python -m devtools.dev_token` and a second `make up` find it without guessing.
`CLOUDAGENT_LOCAL_DIR` moves it (the tests use a temporary directory, so a developer's running
`make up` is never touched by `make test`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolchain.paths import PROJECT_ROOT

DEFAULT_DIR = PROJECT_ROOT / ".local"


@dataclass(frozen=True)
class LocalPaths:
    """The files of one local deployment."""

    root: Path

    @classmethod
    def from_env(cls) -> LocalPaths:
        return cls(Path(os.environ.get("CLOUDAGENT_LOCAL_DIR") or DEFAULT_DIR).resolve())

    @property
    def state_file(self) -> Path:
        return self.root / "up.json"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def pid_file(self, name: str) -> Path:
        return self.root / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.root / f"{name}.log"

    @property
    def synth_dir(self) -> Path:
        return self.root / "synth"

    @property
    def work_dir(self) -> Path:
        return self.root / "stacks"

    @property
    def cli_config(self) -> Path:
        return self.root / "terraform.rc"

    @property
    def key_file(self) -> Path:
        return self.root / "dev-oidc-key.pem"

    @property
    def serve_config(self) -> Path:
        return self.root / "serve.json"

    def load_state(self) -> dict[str, Any]:
        """What the last `make up` recorded ({} when nothing is up)."""
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def save_state(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)


def shown(path: Path) -> str:
    """A path as `make up` prints it: relative to the project when it lies inside."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
