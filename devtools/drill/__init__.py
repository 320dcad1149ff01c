"""Reliability drills against a running `make up`: bursts, duplicate events, killed processes
and a soak, each asserting that nothing was lost and every slot was returned.

`python -m devtools.drill [--short] [--only NAME ...] [--write-benchmarks]`; each drill is a
module here with `run(ctx: DrillContext, *, short: bool) -> DrillReport` (`context.py`).
"""
