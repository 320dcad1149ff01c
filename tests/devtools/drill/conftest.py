"""A DrillContext whose table and API are dicts and lists: the drills' verdicts without make up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.drill.context import DrillContext
from devtools.local.lambdas import Aws
from devtools.local.paths import LocalPaths


class FakeContext(DrillContext):
    """Records in a list, the counter a number, the API a queue of answers."""

    def __init__(self, records: list[dict[str, Any]] | None = None, counter: int = 0) -> None:
        super().__init__(
            paths=LocalPaths(Path("/nonexistent")),
            aws=Aws(url="http://127.0.0.1:1", region="us-east-1"),
            api_url="http://127.0.0.1:1",
            token=lambda: "token",
            deployment=None,  # type: ignore[arg-type]
            api_function="cloudagent-local-api",
        )
        self.records = records or []
        self.count = counter

    def run_records(self) -> list[dict[str, Any]]:
        return list(self.records)

    def record(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.records if r["run_id"] == run_id), None)

    def counter(self) -> int:
        return self.count


@pytest.fixture
def fake_context() -> type[FakeContext]:
    return FakeContext
