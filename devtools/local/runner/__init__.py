"""The local task runner: Fargate's part for the cluster `make up` deployed on moto.

`python -m devtools.local.runner` starts it (`loop`: the polling loop and its `main`). A task
ECS recorded is read as ECS would read it (`task_spec`), run in a container or on the host
(`container`) by a `task_run`, which streams its output to CloudWatch Logs (`log_stream`) and
reports its state changes as ECS events (`ecs_events`). `schedule` plays EventBridge's
`rate(...)` rules; `model` is the fake model the runner serves unless real models are asked for.
"""
