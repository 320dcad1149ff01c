"""Run a deployed control function's handler locally, and deliver events as EventBridge does.

moto stores the Lambda functions the api stack creates (code, handler, environment) but does not
run Python handlers without Docker, and its EventBridge does not invoke Lambda targets. So:

* `invoke(function, event)` reads the function's *deployed* configuration from moto (handler,
  environment variables - the wiring the api stack gave it) and runs that handler from
  `chalice_api/` in a fresh Python process, the way a Lambda cold start would, with boto3
  pointed at moto. Its JSON result comes back;
* `deliver(event)` is EventBridge: every rule on the default bus whose deployed event pattern
  matches the event (moto's own pattern matcher) sends it to its Lambda targets via `invoke`.

CLI: `python -m devtools.local.lambdas invoke FUNCTION [EVENT.json|-]` and
`python -m devtools.local.lambdas put-event [EVENT.json|-]` against the running `make up`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from devtools.local.paths import LocalPaths
from devtools.moto_server import FAKE_CREDENTIALS
from toolchain.paths import PROJECT_ROOT

APP_DIR = PROJECT_ROOT / "chalice_api"


class InvokeError(RuntimeError):
    """The handler raised or its process failed; the message carries its stderr."""


@dataclass(frozen=True)
class Aws:
    """The embedded AWS endpoint and region a local invocation talks to."""

    url: str
    region: str

    def env(self) -> dict[str, str]:
        return {
            **FAKE_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def function_environment(aws: Aws, function_name: str) -> tuple[str, dict[str, str]]:
    """(handler, environment variables) of a deployed function."""
    config = aws.client("lambda").get_function_configuration(FunctionName=function_name)
    return config["Handler"], dict(config.get("Environment", {}).get("Variables", {}))


def invoke(
    aws: Aws,
    function_name: str,
    event: Any,
    overrides: dict[str, str] | None = None,
    *,
    timeout: float = 120,
) -> Any:
    """Run the deployed function's handler on `event` in a new process (a cold container)."""
    handler, variables = function_environment(aws, function_name)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        **variables,
        **aws.env(),
        **(overrides or {}),
    }
    with tempfile.TemporaryDirectory(prefix="cloudagent-invoke-") as tmp:
        event_path, result_path = Path(tmp) / "event.json", Path(tmp) / "result.json"
        event_path.write_text(json.dumps(event))
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                _BOOTSTRAP,
                handler,
                str(event_path),
                str(result_path),
            ],
            cwd=APP_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0 or not result_path.exists():
            raise InvokeError(f"{function_name} ({handler}) failed:\n{proc.stderr[-4000:]}")
        return json.loads(result_path.read_text())


# The invocation process sees only chalice_api/ (its cwd) and the venv, as Lambda sees only the
# deployment package: `module.function` is imported and called with (event, context=None).
_BOOTSTRAP = """
import importlib, json, sys
handler, event_path, result_path = sys.argv[1:4]
module_name, _, attr = handler.rpartition(".")
function = getattr(importlib.import_module(module_name), attr)
with open(event_path) as f:
    result = function(json.load(f), None)
with open(result_path, "w") as f:
    json.dump(result, f, default=str)
"""


def _function_name(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[2] == "lambda" else None


def deliver(aws: Aws, event: dict[str, Any]) -> list[dict[str, Any]]:
    """EventBridge: run every Lambda target of every default-bus rule the event matches."""
    from moto.events.models import EventPattern

    events = aws.client("events")
    delivered = []
    for rule in events.list_rules(EventBusName="default").get("Rules", []):
        pattern = rule.get("EventPattern")
        if not pattern or rule.get("State") != "ENABLED":
            continue
        if not EventPattern.load(pattern).matches_event(event):
            continue
        for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
            name = _function_name(target["Arn"])
            if name:
                result = invoke(aws, name, event)
                delivered.append({"rule": rule["Name"], "function": name, "result": result})
    return delivered


def _running(paths: LocalPaths) -> Aws:
    state = paths.load_state()
    if not state.get("moto_url"):
        raise SystemExit("nothing is up: run `make up` first")
    return Aws(url=state["moto_url"], region=state["region"])


def _read_event(source: str) -> Any:
    return json.loads(sys.stdin.read() if source == "-" else Path(source).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.local.lambdas")
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("invoke", help="run a deployed function's handler on an event")
    one.add_argument("function")
    one.add_argument("event", nargs="?", default="-")
    put = sub.add_parser("put-event", help="deliver an event to the matching rules' functions")
    put.add_argument("event", nargs="?", default="-")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    aws = _running(LocalPaths.from_env())
    if args.command == "invoke":
        result: Any = invoke(aws, args.function, _read_event(args.event))
    else:
        result = deliver(aws, _read_event(args.event))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
