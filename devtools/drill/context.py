"""What every drill shares: the running `make up` (`DrillContext`), the verdict (`DrillReport`)
and the reads that decide whether anything was lost.

A drill judges the control plane by what it left in the table, not by what the API answered:
the active-run counter (`COUNTER#ACTIVE_RUNS`), the run records that still hold a slot, and
records that never got a task. Those are read straight from DynamoDB on the embedded AWS so a
drill sees exactly what the reaper would, and the reaper itself is the deployed function run
through `devtools.local.lambdas.invoke` (as its schedule would run it, only now).
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from devtools import moto_server
from devtools.deploy import LocalDeployment
from devtools.local import processes
from devtools.local.lambdas import Aws, function_environment, invoke
from devtools.local.oidc import DevIssuer
from devtools.local.paths import LocalPaths
from devtools.local.report import UpResult
from devtools.local.session import SERVE_MARKER
from devtools.terraform import write_cli_config

TERMINAL = frozenset({"STOPPED", "FAILED_TO_START"})
# chalicelib.persistence.counter.COUNTER_KEY / items.run_key: the drills read the table as the
# API writes it (the API package is not importable from here: it is its own Lambda bundle).
COUNTER_KEY = {"pk": {"S": "COUNTER#ACTIVE_RUNS"}, "sk": {"S": "COUNTER"}}
RUN_PREFIX = "RUN#"
# The fake model (devtools/local/runner/model.py) runs `<command>` for a `run: <command>` prompt.
PROVIDER, MODEL = "openai", "gpt-4o-mini"
# A development token lives an hour; a fresh one every few minutes keeps long drills valid.
TOKEN_SECONDS = 300

_deserialize = TypeDeserializer().deserialize


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as Python values (Decimals that are whole become ints)."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        out[key] = _plainer(_deserialize(value))
    return out


def _plainer(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plainer(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plainer(v) for v in value]
    return value


@dataclass
class Response:
    """One HTTP answer as a drill judges it; `status` 0 means no answer (`error` says why)."""

    status: int
    body: Any = None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    @property
    def run_id(self) -> str | None:
        return self.body.get("run_id") if isinstance(self.body, dict) else None

    @property
    def message(self) -> str:
        """The API's error message (`{"error": {"code", "message"}}`), or the raw text."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        return self.error or self.text[:300]


@dataclass
class DrillReport:
    """One drill's verdict: passed when nothing was lost; `problems` say what was, if anything."""

    name: str
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def of(
        cls, name: str, figures: dict[str, Any], problems: list[str], seconds: float = 0.0
    ) -> DrillReport:
        """A report whose verdict follows from its problems (none: passed)."""
        return cls(name, not problems, figures, list(problems), seconds)

    def line(self) -> str:
        """One line: name, PASS/FAIL, figures, seconds, then the first problems."""
        figures = " ".join(f"{k}={_figure(v)}" for k, v in self.figures.items())
        text = f"{self.name:<12} {'PASS' if self.passed else 'FAIL'}  {figures}"
        if self.seconds:
            text += f"  ({self.seconds:.1f}s)"
        if self.problems:
            text += "  problems: " + "; ".join(self.problems[:5])
            if len(self.problems) > 5:
                text += f" (+{len(self.problems) - 5} more)"
        return text


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def percentile(values: Iterable[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class DrillContext:
    """The running `make up` a drill works against."""

    paths: LocalPaths
    aws: Aws
    api_url: str
    token: Callable[[], str]  # a fresh (at most TOKEN_SECONDS old) development token
    deployment: LocalDeployment
    api_function: str = ""
    server_pid: int = 0

    @classmethod
    def from_up(cls, up: UpResult) -> DrillContext:
        """The `make up` a test brought up itself (tests/e2e's one `local` fixture)."""
        return cls(
            paths=up.paths,
            aws=up.aws,
            api_url=up.api_url,
            token=_cached(up.token),
            deployment=up.deployment,
            api_function=up.api_function,
            # The server now: a kills drill restarts it, and the UpResult keeps the first pid.
            server_pid=processes.read_pid(up.paths.pid_file("server")) or up.server_pid,
        )

    @classmethod
    def from_env(cls) -> DrillContext:
        """The `make up` recorded under CLOUDAGENT_LOCAL_DIR (or .local), as devtools.run finds
        it; SystemExit when nothing is up."""
        paths = LocalPaths.from_env()
        state = paths.load_state()
        if not state.get("api_url") or not state.get("moto_url"):
            raise SystemExit(f"nothing is up in {paths.root}: run `make up` first")
        aws = Aws(url=state["moto_url"], region=state["region"])
        deployment = LocalDeployment(
            synth_dir=Path(state["synth_dir"]),
            workroot=paths.work_dir,
            moto=moto_server.MotoServer(port=state["moto_port"], process=None),  # type: ignore[arg-type]
            bucket=state["bucket"],
            region=state["region"],
            cli_config=paths.cli_config
            if paths.cli_config.exists()
            else write_cli_config(paths.cli_config),
        )

        def token() -> str:
            issuer = DevIssuer.load(state["issuer_url"], paths.key_file)
            return issuer.token(state["audience"], state["subject"])

        return cls(
            paths=paths,
            aws=aws,
            api_url=state["api_url"],
            token=_cached(token),
            deployment=deployment,
            api_function=state.get("api_function", ""),
            server_pid=processes.read_pid(paths.pid_file("server")) or 0,
        )

    # --- the deployment's wiring -------------------------------------------------------------

    @cached_property
    def api_environment(self) -> dict[str, str]:
        """The deployed API function's environment (the API server runs with the same)."""
        return function_environment(self.aws, self.api_function)[1]

    @cached_property
    def db(self) -> Any:
        """One DynamoDB client on the embedded AWS (boto3 clients are thread-safe)."""
        return self.aws.client("dynamodb")

    @property
    def table(self) -> str:
        return self.api_environment["TABLE_NAME"]

    @property
    def max_concurrent_runs(self) -> int:
        """The cap C make up deployed (`max_concurrent_runs`, 5 unless a drill changed it)."""
        return int(self.api_environment.get("MAX_CONCURRENT_RUNS", "5"))

    def function_name(self, suffix: str) -> str:
        """A sibling of the API function: `<prefix>-reaper`, `<prefix>-task-state`, ..."""
        return self.api_function.removesuffix("-api") + "-" + suffix

    def server_alive(self) -> bool:
        return processes.alive(self.server_pid, SERVE_MARKER)

    def server_rss_kib(self) -> int:
        """The API server's resident memory (VmRSS, KiB) from /proc; 0 when it is gone."""
        try:
            status = Path(f"/proc/{self.server_pid}/status").read_text()
        except OSError:
            return 0
        for row in status.splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1])
        return 0

    # --- HTTP ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 60,
    ) -> Response:
        """One call to the API through the CloudFront stand-in; never raises for an HTTP error
        or a dropped connection (status 0), so a burst can count them."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_url.rstrip("/") + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token()}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        began = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                status, raw, got = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        except (OSError, urllib.error.URLError) as error:
            return Response(0, seconds=time.monotonic() - began, error=repr(error))
        text = raw.decode(errors="replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return Response(status, parsed, text, got, time.monotonic() - began)

    def create_run(self, prompt: str, idempotency_key: str | None = None, **extra: Any) -> Response:
        """POST /v1/runs with the fake model (`run: <command>` runs the command)."""
        body = {"prompt": prompt, "provider": PROVIDER, "model": MODEL, **extra}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.request("POST", "/v1/runs", body, headers)

    def stop_run(self, run_id: str) -> Response:
        return self.request("POST", f"/v1/runs/{run_id}/stop")

    def get_run(self, run_id: str) -> Response:
        return self.request("GET", f"/v1/runs/{run_id}")

    # --- the table -------------------------------------------------------------------------

    def counter(self) -> int:
        """The active-run counter's value (`COUNTER#ACTIVE_RUNS`, attribute `active`)."""
        answer = self.db.get_item(TableName=self.table, Key=COUNTER_KEY, ConsistentRead=True)
        return int(plain(answer.get("Item", {})).get("active", 0))

    def record(self, run_id: str) -> dict[str, Any] | None:
        answer = self.db.get_item(
            TableName=self.table,
            Key={"pk": {"S": RUN_PREFIX + run_id}, "sk": {"S": "RUN"}},
            ConsistentRead=True,
        )
        return plain(answer["Item"]) if "Item" in answer else None

    def run_records(self) -> list[dict[str, Any]]:
        """Every run (and session) record in the table."""
        db = self.db
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(pk, :run) AND sk = :sk",
            "ExpressionAttributeValues": {":run": {"S": RUN_PREFIX}, ":sk": {"S": "RUN"}},
            "ConsistentRead": True,
        }
        records: list[dict[str, Any]] = []
        while True:
            page = db.scan(**kwargs)
            records.extend(plain(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def active_runs(self) -> list[dict[str, Any]]:
        """Records that hold a slot: not terminal and `slot_held` (what the counter counts)."""
        return [
            r for r in self.run_records() if r.get("status") not in TERMINAL and r.get("slot_held")
        ]

    def records_without_task(self) -> list[dict[str, Any]]:
        """PENDING/STARTING records with no task: a create that took a slot and never ran."""
        return [
            r
            for r in self.run_records()
            if r.get("status") in ("PENDING", "STARTING") and not r.get("task_arn")
        ]

    def slot_problems(self, expect_zero: bool = False) -> list[str]:
        """The counter against the records: equal to the active runs (and 0 if expected)."""
        counter, active = self.counter(), len(self.active_runs())
        problems = []
        if counter != active:
            problems.append(f"the counter says {counter} but {active} run(s) hold a slot")
        if expect_zero and counter != 0:
            problems.append(f"the counter is {counter} at the end, not 0")
        return problems

    # --- the reaper and waiting ------------------------------------------------------------

    def invoke_reaper(self, overrides: dict[str, str] | None = None) -> Any:
        """One pass of the deployed reaper, with the Scheduled Event its rule would send
        (``overrides``: environment variables changed for this pass only)."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": self.aws.region,
            "resources": [],
            "detail": {},
        }
        return invoke(self.aws, self.function_name("reaper"), event, overrides)

    def wait_terminal(
        self,
        run_ids: Iterable[str],
        timeout: float = 60,
        *,
        with_result: bool = False,
        poll: float = 0.2,
    ) -> dict[str, dict[str, Any] | None]:
        """The runs' records once each is terminal (and, with `with_result`, a STOPPED run has
        its result or result_error), or as they are when `timeout` runs out."""
        pending = list(dict.fromkeys(run_ids))
        done: dict[str, dict[str, Any] | None] = {}
        deadline = time.monotonic() + timeout
        while True:
            for run_id in list(pending):
                rec = self.record(run_id)
                done[run_id] = rec
                if rec and _settled(rec, with_result):
                    pending.remove(run_id)
            if not pending or time.monotonic() > deadline:
                return done
            time.sleep(poll)

    def stop_active(self, timeout: float = 60) -> list[str]:
        """Stop every run that holds a slot and wait for it (a drill starts with the cap free);
        problems, if a run would not stop."""
        ids = [str(r["run_id"]) for r in self.active_runs()]
        for run_id in ids:
            self.stop_run(run_id)
        records = self.wait_terminal(ids, timeout)
        return [
            f"run {rid} did not stop within {timeout:.0f}s (status {(rec or {}).get('status')})"
            for rid, rec in records.items()
            if not rec or rec.get("status") not in TERMINAL
        ]


def _settled(record: dict[str, Any], with_result: bool) -> bool:
    if record.get("status") not in TERMINAL:
        return False
    if not with_result or record.get("status") != "STOPPED":
        return True
    return bool(record.get("result") or record.get("result_error"))


def _cached(mint: Callable[[], str]) -> Callable[[], str]:
    """`mint` called at most once per TOKEN_SECONDS (thread-safe: bursts share one token)."""
    lock = threading.Lock()
    held: dict[str, Any] = {"token": None, "at": 0.0}

    def token() -> str:
        with lock:
            if held["token"] is None or time.monotonic() - held["at"] > TOKEN_SECONDS:
                held["token"], held["at"] = mint(), time.monotonic()
            return str(held["token"])

    return token
