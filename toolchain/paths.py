"""Where the project lives on disk: the one root every tool, test and benchmark resolves from."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
