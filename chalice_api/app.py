"""Cloud Agent Studio control API: the Chalice app, its routes and its Lambda functions.

The routes are ``chalicelib/http/routes.py`` (a blueprint); what each function does is
``chalicelib/http/entry.py``. This module imports the http layer only (``chalicelib/http``;
the layers below it are checked by import-linter, see ``[tool.importlinter]`` in
pyproject.toml).

Importing this module must stay cheap (budget: 150 ms) and must not need any environment
variable - ``chalice package`` imports it at build time. So: no boto3/jwt at import, settings
read on first use. Handlers the api stack wires:

* ``api_handler``  - the REST API (API Gateway, via CloudFront)
* ``task_state``   - EventBridge rule for this cluster's "ECS Task State Change" events
* ``reaper``       - EventBridge schedule (e.g. rate(5 minutes))
* ``admin``        - invoked directly by the GitHub OIDC admin role
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Chalice
from chalicelib.http import entry
from chalicelib.http.routes import routes

app = Chalice(app_name="cloudagent-api")
app.log.setLevel(logging.INFO)
app.register_blueprint(routes)


@app.lambda_function(name="task_state")
def task_state(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge target for ECS Task State Change events of this cluster."""
    return entry.task_state(event)


@app.lambda_function(name="reaper")
def reaper(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Scheduled backstop: stop tasks past their cap + grace; reconcile lost events."""
    return entry.reaper()


@app.lambda_function(name="admin")
def admin(event: Any, context: Any) -> dict[str, Any]:
    """Operator actions (set provider key, key status, stop all); never raises."""
    return entry.admin(event)
