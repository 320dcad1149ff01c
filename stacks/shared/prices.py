"""What an agent-hour costs: Fargate prices by capacity and architecture, dated, with sources.

The control API stores the rate of the capacity a run actually used on the run (so later price
changes do not rewrite history); `make cost` prints the same figures per agent-hour.
"""

from __future__ import annotations

from stacks.shared.constants import TASK_CPU_UNITS, TASK_EPHEMERAL_STORAGE_GIB, TASK_MEMORY_MIB

ARCHITECTURES = ("X86_64", "ARM64")
CAPACITIES = ("on-demand", "spot")

# Fargate on-demand list prices (USD), Linux, us-east-1.
FARGATE_PRICES_SOURCE = "https://aws.amazon.com/fargate/pricing/ (us-east-1, read 2026-11-26)"
FARGATE_PRICE_PER_VCPU_HOUR = {"X86_64": 0.04048, "ARM64": 0.03238}
FARGATE_PRICE_PER_GB_HOUR = {"X86_64": 0.004445, "ARM64": 0.00356}
FARGATE_EPHEMERAL_PRICE_PER_GB_HOUR = 0.000111  # beyond the 20 GiB included
FARGATE_EPHEMERAL_INCLUDED_GIB = 20

# Fargate Spot has no list price: AWS publishes a live rate that moves with supply and demand,
# "up to 70%" below on-demand (50-70% observed). Estimates use the middle of that range; the
# run's `compute_cost_usd` is an estimate either way. Ephemeral storage is not discounted.
FARGATE_SPOT_SOURCE = "https://aws.amazon.com/fargate/pricing/ (Fargate Spot, up to 70% off)"
FARGATE_SPOT_DISCOUNT = 0.60


def task_hourly_cost_usd(architecture: str, capacity: str = "on-demand") -> float:
    """One agent task-hour at the task shape, for an architecture and a capacity."""
    if capacity not in CAPACITIES:
        raise ValueError(f"unknown capacity {capacity!r}; expected one of {CAPACITIES}")
    factor = 1 - FARGATE_SPOT_DISCOUNT if capacity == "spot" else 1.0
    vcpu = TASK_CPU_UNITS / 1024
    memory_gb = TASK_MEMORY_MIB / 1024
    storage_gb = max(0, TASK_EPHEMERAL_STORAGE_GIB - FARGATE_EPHEMERAL_INCLUDED_GIB)
    return round(
        factor
        * (
            vcpu * FARGATE_PRICE_PER_VCPU_HOUR[architecture]
            + memory_gb * FARGATE_PRICE_PER_GB_HOUR[architecture]
        )
        + storage_gb * FARGATE_EPHEMERAL_PRICE_PER_GB_HOUR,
        5,
    )
