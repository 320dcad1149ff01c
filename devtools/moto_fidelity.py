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
"""

from __future__ import annotations

import json
import sys
import threading
from types import SimpleNamespace
from typing import Any

from moto.apigateway.models import RestAPI
from moto.dynamodb.responses import DynamoHandler
from moto.ecs.models import EC2ContainerServiceBackend

_rest_api_to_dict = RestAPI.to_dict
_task_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements
_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")
dynamodb_call_as_moto_serves_it = DynamoHandler.call_action
_DYNAMODB_ONE_AT_A_TIME = threading.Lock()


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


def apply() -> None:
    """Install the corrections (idempotent)."""
    RestAPI.to_dict = _rest_api_as_aws_returns_it  # type: ignore[method-assign]
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(  # type: ignore[method-assign]
        _task_requirements_with_task_memory
    )
    DynamoHandler.call_action = dynamodb_call_one_at_a_time  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    apply()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
