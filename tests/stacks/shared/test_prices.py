"""Agent-hour prices by architecture and capacity, and their table (docs/ARCHITECTURE.md §9)."""

from __future__ import annotations

import re

import pytest

from stacks.shared.prices import ARCHITECTURES, FARGATE_SPOT_DISCOUNT, task_hourly_cost_usd
from toolchain.paths import PROJECT_ROOT


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_spot_discounts_compute_but_not_storage(architecture: str) -> None:
    on_demand = task_hourly_cost_usd(architecture, "on-demand")
    spot = task_hourly_cost_usd(architecture, "spot")
    # Storage beyond the included 20 GiB is billed at the full rate on Spot too.
    assert on_demand * (1 - FARGATE_SPOT_DISCOUNT) < spot < on_demand * 0.5


def test_unknown_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="spot-then-on-demand"):
        task_hourly_cost_usd("X86_64", "spot-then-on-demand")


def test_the_architecture_table_shows_the_prices() -> None:
    doc = (PROJECT_ROOT / "docs" / "ARCHITECTURE.md").read_text()
    for architecture in ARCHITECTURES:
        row = re.search(rf"^\| `{architecture}` \| \$([\d.]+) \| \$([\d.]+) \|$", doc, re.M)
        assert row, f"docs/ARCHITECTURE.md has no price row for {architecture}"
        assert float(row[1]) == round(task_hourly_cost_usd(architecture, "on-demand"), 2)
        assert float(row[2]) == round(task_hourly_cost_usd(architecture, "spot"), 2)
