"""Compute-cost estimate of a run: billed duration x the task's hourly price.

The api stack computes ``TASK_HOURLY_COST_USD`` at synth from the task shape (vCPU, memory,
ephemeral storage, architecture) and the price table kept with the settings; the rate in force
when the run was created is stored on the run so later price changes do not rewrite history.
Fargate bills from the start of the image pull to the task's stop, with a one-minute minimum.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..core.times import parse_time

FARGATE_MINIMUM_SECONDS = 60


def estimate(
    billing_started_at: str | None,
    stopped_at: str | None,
    hourly_cost_usd: float | None,
    now: datetime | None = None,
) -> tuple[int | None, float | None]:
    """(duration_seconds, estimated_cost_usd); a running task is measured up to ``now``."""
    start = parse_time(billing_started_at)
    if start is None:
        return None, None
    end = parse_time(stopped_at) or now or datetime.now(UTC)
    duration = max(0, int((end - start).total_seconds()))
    if hourly_cost_usd is None:
        return duration, None
    billed = max(duration, FARGATE_MINIMUM_SECONDS)
    return duration, round(billed / 3600.0 * hourly_cost_usd, 4)


def total(compute_usd: float | None, model_usd: float | None) -> float | None:
    """``estimated_cost_usd``: compute + model cost; a part not known yet counts as 0, and
    the total is null only when neither is known."""
    if compute_usd is None and model_usd is None:
        return None
    return round((compute_usd or 0.0) + (model_usd or 0.0), 6)
