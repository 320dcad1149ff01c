"""The control API below ``app.py``, in layers (each a package; a layer imports only those below
it, checked by import-linter, ``[tool.importlinter]`` in pyproject.toml):

* ``http``        routes, auth, origin check, errors -> responses, request validation, OpenAPI
* ``runs``        create, stop, task-state events, reaper, results, egress claims, admin
* ``persistence`` the table: run items, page tokens, counter, idempotency  } independent
* ``cloud``       ECS, logs, secrets, DNS Firewall domain list, quotas     } of each other
* ``core``        config, statuses, errors, ids, clock, domain/repo rules, boto3 clients
"""
