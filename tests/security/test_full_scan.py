"""`make scan` as a test: Checkov on the synth and on moto-planned Terraform plans, 0 failed.

The plan view sees what the synth cannot (references resolved to ARNs, the provider's own
reading of each resource), and once caught IAM actions the synth view passed; it costs about a
minute (foundation and agent are applied on moto so the later stacks can plan).
"""

from __future__ import annotations

import json
from pathlib import Path

from devtools.scan import full_scan


def test_full_scan_of_synth_and_plans_has_no_failed_check(tmp_path: Path) -> None:
    lines: list[str] = []
    status = full_scan(tmp_path / "cdktf.out", out=lines.append)
    summary = json.loads((tmp_path / "cdktf.out" / "scan" / "summary.json").read_text())
    assert summary["planned"] == ["foundation", "agent", "api"], summary["plan_errors"]
    for view in summary["checkov"]:
        assert view["failed"] == 0, (view["view"], view["failures"])
        assert view["parsing_errors"] == 0
        assert view["passed"] > 200
    assert summary["parliament_failures"] == []
    assert status == 0, "\n".join(lines)
    assert len(summary["sarif"]) == 2
