"""`make cost`: what the deployment costs idle each month, and what an agent-hour costs.

Synthesizes the three stacks for the current settings (cdktf.json context, CLOUDAGENT_*
variables), as `make synth` does, or reads `cdktf.out` as it is (`--no-synth`), and prices
them with `devtools/costing.py`: the idle month line by line (only the lines that cost
something; `--all` adds the free and usage-only ones with why), then an agent-hour for every
capacity x architecture with the configured ones marked. `--json` prints the same as data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devtools.costing import UnpricedError, report
from devtools.synth import synthesize
from stacks.shared.constants import STACK_NAMES, TASK_CPU_UNITS, TASK_MEMORY_MIB
from stacks.shared.prices import FARGATE_SPOT_DISCOUNT
from stacks.shared.resource_prices import PRICES_READ, PUBLIC_IPV4_HOURLY_USD
from stacks.shared.setting_loader import SettingsError, load_settings
from stacks.shared.settings import Settings
from toolchain.paths import PROJECT_ROOT

PRICED_REGION = "us-east-1"


def load_stacks(outdir: Path) -> dict[str, dict]:
    return {
        name: json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text())
        for name in STACK_NAMES
    }


def _money(usd: float) -> str:
    """Dollars to the cent; unit prices below a cent keep their significant digits."""
    return f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:.7f}".rstrip("0")


def _count(line: dict) -> str:
    if line["per"] == "resource":
        return f"{line['resources']}"
    return f"{line['resources']} ({line['units']:,.0f} {line['per']}s)"


def _unit_price(line: dict) -> str:
    fixed = f"{_money(line['fixed_usd'])} + " if line["fixed_usd"] else ""
    per = "" if line["per"] == "resource" else f"/{line['per']}"
    return f"{fixed}{_money(line['unit_usd'])}{per}"


def _columns(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  "
        + "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def idle_table(data: dict, show_all: bool = False) -> list[str]:
    """The idle month, one line per stack and resource type that costs something."""
    lines = data["idle"]["lines"]
    shown = [line for line in lines if show_all or line["monthly_usd"] > 0]
    rows = [["stack", "resource type", "count", "unit price / month", "monthly"]]
    for line in shown:
        rows.append(
            [
                line["stack"],
                line["resource_type"],
                _count(line),
                _unit_price(line),
                _money(line["monthly_usd"]),
            ]
        )
    rows.append(["total", "", "", "", _money(data["idle"]["monthly_usd"])])
    table = _columns(rows, right={2, 4})
    if show_all:  # each line's reason under it
        reasons = [f"{'':13}{line['basis']}" for line in shown]
        table = table[:1] + [x for pair in zip(table[1:-1], reasons, strict=True) for x in pair]
        table += _columns(rows, right={2, 4})[-1:]
    out = [
        f"Idle month (us-east-1 list prices read {PRICES_READ}, stacks/shared/resource_prices.py):",
        *table,
    ]
    free = [line for line in lines if line["monthly_usd"] == 0]
    if not show_all and free:
        count = sum(line["resources"] for line in free)
        out.append(
            f"  + {count} resources of {len({line['resource_type'] for line in free})} more "
            "types that cost nothing idle (free, or billed by use): `--all` lists them with why"
        )
    later = data["idle"]["later_monthly_usd"]
    if later != data["idle"]["monthly_usd"]:
        out.append(
            f"  from the third year, once KMS has rotated each key twice (+$1/key a month "
            f"each time): {_money(later)}"
        )
    return out


def agent_hour_table(data: dict) -> list[str]:
    """An agent-hour per capacity x architecture, the configured options marked with *."""
    settings = data["settings"]
    rows = data["agent_hour"]
    architectures = list(dict.fromkeys(row["architecture"] for row in rows))
    ipv4 = rows[0]["public_ipv4_usd"]
    with_ipv4 = f" + public IPv4 ${PUBLIC_IPV4_HOURLY_USD}/h" if ipv4 else ""
    out = [
        f"Agent-hour (Fargate {TASK_CPU_UNITS // 1024} vCPU / {TASK_MEMORY_MIB // 1024} GiB"
        f"{with_ipv4}; Spot estimated at {FARGATE_SPOT_DISCOUNT:.0%} off):",
        f"  {'capacity':<12}" + "".join(f"{arch:>12}" for arch in architectures),
    ]
    for capacity in dict.fromkeys(row["capacity"] for row in rows):
        cells = []
        for arch in architectures:
            [row] = [r for r in rows if r["capacity"] == capacity and r["architecture"] == arch]
            cells.append(f"${row['total_usd']:.3f}{'*' if row['configured'] else ' '}".rjust(12))
        out.append((f"  {capacity:<12}" + "".join(cells)).rstrip())
    out.append(
        f"  * configured: capacity {settings['capacity']}, architecture "
        f"{settings['agent_architecture']}, network_mode {settings['network_mode']}"
    )
    return out


def render(data: dict, show_all: bool = False) -> str:
    out = [*idle_table(data, show_all), "", *agent_hour_table(data)]
    if data["settings"]["region"] != PRICED_REGION:
        out.append(
            f"note: prices are {PRICED_REGION} list prices; region "
            f"{data['settings']['region']} may differ by a few per cent"
        )
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.cost", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--no-synth", action="store_true", help="price cdktf.out as it is")
    parser.add_argument("--outdir", type=Path, default=PROJECT_ROOT / "cdktf.out")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--all", action="store_true", help="also list what costs nothing idle")
    args = parser.parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    try:
        settings: Settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.no_synth:
        synthesize(args.outdir)
    try:
        data = report(load_stacks(args.outdir), settings)
    except FileNotFoundError as error:
        print(f"error: {error.filename} is missing: run without --no-synth", file=sys.stderr)
        return 2
    except UnpricedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2) if args.json else render(data, args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
