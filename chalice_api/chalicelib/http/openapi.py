"""The OpenAPI 3 document of the control API, kept as data.

Served at ``GET /v1/openapi.json`` and used by the tests: the fuzzing test generates requests
from it, and a consistency test checks its limits against ``validation.py``. The document
is assembled here from its paths (``openapi_paths.py``) and schemas (``openapi_schemas.py``);
all three are plain data, cheap to import.
"""

from __future__ import annotations

import copy
from typing import Any

from .openapi_paths import PATHS
from .openapi_schemas import SCHEMAS

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Cloud Agent Studio control API",
        "version": "1",
        "description": (
            "Starts and observes coding-agent runs on ECS Fargate in the operator's own AWS "
            'account. Every error is {"error": {"code", "message"}}.'
        ),
    },
    "security": [{"githubOidc": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {
            "githubOidc": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT (GitHub Actions OIDC, RS256)",
            }
        },
        "schemas": SCHEMAS,
    },
}


def document() -> dict[str, Any]:
    """A copy of the document (callers may not mutate the shared one)."""
    return copy.deepcopy(DOCUMENT)
