"""Lazy boto3 clients: the first client of a cold container must not deadlock."""

from __future__ import annotations

import threading

import pytest
from chalicelib.core import aws


def test_first_client_of_a_cold_container_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    """client() creates the session under the same lock session() takes (re-entrant)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset(new_session=True)
    made: list[object] = []
    worker = threading.Thread(target=lambda: made.append(aws.client("sts")), daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert made, "aws.client() hung on a cold start"
    aws.reset(new_session=True)
