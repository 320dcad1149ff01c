"""moto server, corrected where it answers differently from AWS in a way Terraform depends on.

Run as `python -m devtools.moto_fidelity -H 127.0.0.1 -p PORT` (moto.server's own arguments);
`devtools/moto_server.py` starts it. Each correction makes moto answer as the AWS API does, so
the stacks are applied unchanged; none changes what a stack asks for.

* API Gateway's GetRestApi returns the REST API's resource policy JSON-escaped
  (`{\\"Version\\":...}`), and the AWS provider unescapes what it reads (Go's
  `strconv.Unquote`). moto returns the policy as it was sent, so the provider fails every read
  of a REST API that has a policy ("invalid character ... after top-level value").
* ECS's RunTask adds up the containers' memory and fails (a TypeError, HTTP 500) on a container
  that sets neither `memory` nor `memoryReservation`. AWS allows that on Fargate when the task
  sets its memory (the agent's `repo-init` container shares the task's memory that way).
* DynamoDB's calls are atomic in AWS. moto's TransactWriteItems deep-copies each table it
  touches and, when the transaction fails (a condition not met), puts the copy back whole,
  with no lock: a write another request made meanwhile is undone. Concurrent creates against
  the concurrency cap (a conditional transaction each) lost each other's effects that way, so
  the rehearsal could neither prove nor disprove the cap. Every DynamoDB call is served one at a
  time (they take microseconds; nothing else waits on them).

Not a correction but a witness: every request the AWS SDK sends again (its `amz-sdk-request`
header says `attempt=2` or more) is written to the server's log (`moto.log`) with its
operation. A create that moto performed but whose answer the SDK never accepted comes back as
a retry and fails with "already exists" / "conflicts" (issue 25's `CreateStage 409`,
`CreateSubnet InvalidSubnet.Conflict`); the log line shows which request it was and when.
And every answer that could not be written because the client had already closed or reset the
connection is logged as `answer not delivered: ... invocation=<id>`: the same invocation id on a
later `retried by the SDK` line then says the first answer died on the server's side of the wire;
its absence says the server wrote the answer and the client dropped it after receiving it.
"""

from __future__ import annotations

import io
import json
import sys
import threading
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

from moto.apigateway.models import RestAPI
from moto.dynamodb.responses import DynamoHandler
from moto.ecs.models import EC2ContainerServiceBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler

_rest_api_to_dict = RestAPI.to_dict
_task_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements
_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")
dynamodb_call_as_moto_serves_it = DynamoHandler.call_action
_DYNAMODB_ONE_AT_A_TIME = threading.Lock()
dispatch_as_moto_serves_it = DomainDispatcherApplication.__call__
connection_dropped_as_werkzeug_handles_it = MotoRequestHandler.connection_dropped


def _rest_api_as_aws_returns_it(self: RestAPI) -> dict[str, Any]:
    """GetRestApi's shape: the policy document as an escaped string, as AWS stores it."""
    result = _rest_api_to_dict(self)
    policy = result.get("policy")
    if isinstance(policy, str) and policy.lstrip().startswith("{"):
        result["policy"] = json.dumps(policy)[1:-1]
    return result


def _task_requirements_with_task_memory(task_definition: Any) -> dict[str, Any]:
    """RunTask's sizing with a container that sets no memory of its own counted as 0 MiB."""
    containers = [
        c if any(key in c for key in _MEMORY_KEYS) else {**c, "memory": 0}
        for c in task_definition.container_definitions
    ]
    return _task_requirements(SimpleNamespace(container_definitions=containers))


def dynamodb_call_one_at_a_time(self: DynamoHandler) -> Any:
    """One DynamoDB call at a time: a failed transaction's restore cannot undo another's write."""
    with _DYNAMODB_ONE_AT_A_TIME:
        return dynamodb_call_as_moto_serves_it(self)


def retry_attempt(environ: dict[str, Any]) -> int:
    """The SDK's attempt number from `amz-sdk-request: attempt=N; max=M` (1 when absent)."""
    for part in environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


def _operation(environ: dict[str, Any]) -> str:
    """The operation's name as far as the headers and a form body tell it."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


def dispatch_noting_retries(self: DomainDispatcherApplication, environ: Any, start: Any) -> Any:
    """Serve as moto does; a request the SDK sends again is named in the log first."""
    attempt = retry_attempt(environ)
    if attempt > 1:
        print(
            f"retried by the SDK: {_operation(environ)} attempt={attempt} "
            f"invocation={environ.get('HTTP_AMZ_SDK_INVOCATION_ID', '?')}",
            file=sys.stderr,
            flush=True,
        )
    return dispatch_as_moto_serves_it(self, environ, start)


def connection_dropped_noting_it(
    self: MotoRequestHandler, error: BaseException, environ: dict[str, Any] | None = None
) -> None:
    """werkzeug ignores a client gone before its answer was written; the log names it."""
    environ = environ or {}
    operation = environ.get("HTTP_X_AMZ_TARGET") or (
        f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '?')}"
    )
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID", "?")
    print(
        f"answer not delivered ({type(error).__name__}): {operation} "
        f"attempt={retry_attempt(environ)} invocation={invocation}",
        file=sys.stderr,
        flush=True,
    )
    connection_dropped_as_werkzeug_handles_it(self, error, environ)


def apply() -> None:
    """Install the corrections (idempotent)."""
    RestAPI.to_dict = _rest_api_as_aws_returns_it  # type: ignore[method-assign]
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign]
        _task_requirements_with_task_memory
    )
    DynamoHandler.call_action = dynamodb_call_one_at_a_time  # type: ignore[method-assign]
    DomainDispatcherApplication.__call__ = dispatch_noting_retries  # type: ignore[method-assign]
    MotoRequestHandler.connection_dropped = connection_dropped_noting_it  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    apply()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
