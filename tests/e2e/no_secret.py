"""Under `make up`, in the image: the agent holds no secret, and a run's spend cap stops it.

The checks `test_embedded_aws.py` runs on its own `make up` (one `make up` for the suite's
end-to-end runs: a second one cost two minutes of a worker). The runner runs each task as ECS
would run its three containers: repo-init clones and exits, the model proxy runs under uid
1001 with the provider's key, the agent under uid 1000 with none.

1. A unique key is planted through the deployed admin function; a run on a repository hunts
   for it as the agent's uid - its environment, every `/proc/*/environ` and `/proc/*/cmdline`
   it can read, every file it can read - and writes what it found into the workspace. The
   value is nowhere in the run's events, its result or its patch, and the run still got its
   answer from the model through the proxy: the proxy's stream has its `model_usage` lines and
   the run's usage is the proxy's, not the agent's report.
2. A run with a tiny `max_cost_usd` is refused its second model call by the proxy: it ends
   with `budget_exceeded` true and still has its result.

The hunt's command names the key's shape, never its value (`sk-cloudagenthun[t]-...` matches
the key but not itself), so finding the command line is not finding the key.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from devtools.deploy import LocalDeployment
from devtools.local.lambdas import invoke
from devtools.local.up import UpResult
from tests.e2e.flow import MODEL, all_events, bare_repository, call, wait_for

PREFIX = "sk-cloudagenthunt-"
PATTERN = "sk-cloudagenthun[t]-[0-9a-f]*"  # the key's shape; the pattern does not match itself
HUNT = (
    "run: echo uid=$(id -u); "
    "{ env; cat /proc/[0-9]*/environ; "
    "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done; "
    "grep -rsIh -D skip --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "
    "-e sk-cloudagenthun[t] / ; } 2>/dev/null | tr '\\0' '\\n' "
    f"| grep -o '{PATTERN}' | sort -u | sed 's/^/found /' > hunt.txt; "
    "echo hunt done $(wc -l < hunt.txt) found >> hunt.txt; cat hunt.txt"
)


def proxy_lines(deployment: LocalDeployment, run_id: str) -> list[dict[str, Any]]:
    """The JSON lines of the run's `agent/model-proxy/<task-id>` stream, read from moto."""
    item = deployment.client("dynamodb").get_item(
        TableName="cloudagent-dev", Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}
    )["Item"]
    arn = item["task_arn"]["S"]
    [task] = deployment.client("ecs").describe_tasks(cluster="cloudagent-dev", tasks=[arn])["tasks"]
    definition = deployment.client("ecs").describe_task_definition(
        taskDefinition=task["taskDefinitionArn"]
    )["taskDefinition"]
    [proxy] = [c for c in definition["containerDefinitions"] if c["name"] == "model-proxy"]
    group = proxy["logConfiguration"]["options"]["awslogs-group"]
    stream = f"agent/model-proxy/{arn.rsplit('/', 1)[-1]}"
    events = deployment.client("logs").get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True
    )["events"]
    return [json.loads(e["message"]) for e in events if e["message"].startswith("{")]


def planted_key_is_nowhere_the_agent_can_reach(local: UpResult, token: str) -> None:
    """Check 1 of the module docstring."""
    value = PREFIX + secrets.token_hex(16)
    planted = invoke(
        local.aws,
        "cloudagent-dev-admin",
        {"action": "set_provider_key", "provider": "openai", "value": value},
    )
    assert planted.get("ok") is True, planted
    base = bare_repository(
        local.paths.root / "repos" / "org" / "cloudagent.git", {"README.md": "hunt\n"}
    )
    body = {"prompt": HUNT, "provider": "openai", "model": MODEL, "repo": "org/cloudagent"}
    created = call("POST", f"{local.api_url}/v1/runs", token=token, body=body)
    assert created.status == 202, created.body
    run_id = created.body["run_id"]
    run = wait_for(local.api_url, token, run_id, {"STOPPED"}, timeout=600)
    assert run["exit_code"] == 0, run
    events = all_events(local.api_url, token, run_id)
    patch = call("GET", f"{local.api_url}/v1/runs/{run_id}/patch", token=token)
    assert patch.status == 200 and run["result"]["patch"]["base_commit"] == base
    # The hunt ran as the agent's uid, finished, and its findings are in the patch: none.
    assert "+hunt done 0 found" in patch.body, patch.body
    outputs = json.dumps([e["data"] for e in events])
    assert "uid=1000" in outputs and "hunt done 0 found" in outputs
    for where, text in {
        "events": json.dumps(events),
        "result": json.dumps(run),
        "patch": patch.body,
    }.items():
        assert value not in text, f"the planted key is in the run's {where}"

    # ... and the answer still came from the model, through the proxy, which metered it.
    lines = proxy_lines(local.deployment, run_id)
    usage = [line for line in lines if line["type"] == "model_usage"]
    assert len(usage) == 2 and all(line["run_id"] == run_id for line in usage)
    assert all(line["status"] == 200 and line["model"] == MODEL for line in usage)
    total = usage[-1]["total"]
    result = run["result"]
    for field in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert result["usage"][field] == total[field], field
    assert run["model_cost_usd"] == pytest.approx(total["cost_usd"], abs=1e-6)  # stored to 6 places
    assert "agent_reported_usage" in result and run["budget_exceeded"] is False
    assert lines[-1]["type"] == "proxy_end"  # the proxy was stopped after the agent


def tiny_budget_ends_the_run_with_its_result(local: UpResult, token: str) -> None:
    """The first call costs more than the cap: the proxy refuses the second with 402."""
    body = {"prompt": "run: echo capped", "provider": "openai", "model": MODEL}
    created = call(
        "POST", f"{local.api_url}/v1/runs", token=token, body={**body, "max_cost_usd": 0.000001}
    )
    assert created.status == 202, created.body
    run_id = created.body["run_id"]
    run = wait_for(local.api_url, token, run_id, {"STOPPED"}, timeout=180)
    assert run["budget_exceeded"] is True, run
    result = run["result"]
    assert result["budget_exceeded"] is True
    assert result["tool_calls"] == 1  # the first answer ran; the second call was refused
    assert result["usage"]["input_tokens"] > 0 and run["model_cost_usd"] > 0.000001
    lines = proxy_lines(local.deployment, run_id)
    [exceeded] = [line for line in lines if line["type"] == "budget_exceeded"]
    assert exceeded["max_cost_usd"] == pytest.approx(0.000001)
    assert lines[-1]["type"] == "proxy_end" and lines[-1]["budget_exceeded"] is True
