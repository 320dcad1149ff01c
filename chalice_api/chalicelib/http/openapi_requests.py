"""The OpenAPI document's request bodies: what `POST /v1/runs` and `POST /v1/sessions` accept.

Every limit is imported from the module that enforces it (``validation.py``,
``core/gitref.py``, ``core/domains.py``, ``core/config.py``, ``core/ids.py``), so the published
contract and the checks cannot drift apart; the fuzzing test generates requests from these schemas.
"""

from __future__ import annotations

from typing import Any

from ..core.config import HARD_MAX_RUNTIME_SECONDS, PROVIDERS
from ..core.domains import DOMAIN_MAX_CHARS, DOMAIN_RE, MAX_RUN_DOMAINS
from ..core.gitref import MAX_REF_CHARS, REF_RE, REPO_RE
from ..core.ids import RUN_ID_RE
from .validation import MAX_PROMPT_CHARS, MODEL_RE

_RUNTIME = {"type": "integer", "minimum": 1, "maximum": HARD_MAX_RUNTIME_SECONDS}
_PROVIDER = {"type": "string", "enum": list(PROVIDERS)}
_MODEL = {"type": "string", "pattern": f"^{MODEL_RE.pattern}$", "maxLength": 128}
_REPO = {
    "type": "string",
    "pattern": f"^{REPO_RE.pattern}$",
    "maxLength": 140,
    "description": (
        "OWNER/NAME of a repository on github.com; must be in the deployment's setting "
        "allowed_repos (env ALLOWED_REPOS), otherwise 400. The task clones "
        "https://github.com/OWNER/NAME.git into /workspace. With continue_from it may be left "
        "out and must otherwise be the continued run's."
    ),
}
_GIT_REF = {
    "type": "string",
    "pattern": f"^{REF_RE.pattern}$",
    "maxLength": MAX_REF_CHARS,
    "description": (
        "branch, tag or 40-hex commit to check out (default: the repository's default "
        "branch); git ref syntax over [A-Za-z0-9._/+-], not starting with - or +, no '..'. "
        "Only with repo, never with continue_from."
    ),
}

_EGRESS_DOMAINS = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_RUN_DOMAINS,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": f"^{DOMAIN_RE.pattern}$", "maxLength": DOMAIN_MAX_CHARS},
    "description": (
        "DNS names this run may resolve besides the deployment's allow-list; each must be "
        "covered by the setting egress_run_domains_allowed (EGRESS_RUN_DOMAINS_ALLOWED: equal, "
        "or below a *.domain entry), otherwise 400. DNS Firewall works per VPC: the names are "
        "open to every task while such a run is active."
    ),
}
_MAX_COST = {
    "type": "number",
    "minimum": 0,
    "exclusiveMinimum": True,
    "description": (
        "the run's model spend cap in USD (kept to the micro-dollar, rounded down); at most "
        "the deployment's setting max_run_cost_usd (MAX_RUN_COST_USD), otherwise 400 naming "
        "it; default that setting. The model proxy refuses calls once the run's cost reaches "
        "it, so the run ends within one model call of the cap, with budget_exceeded true"
    ),
}
_CONTINUE_FROM = {
    "type": "string",
    "pattern": f"^{RUN_ID_RE.pattern}$",
    "description": (
        "continue this stopped run: the new run starts from the commit its chain started from "
        "with every patch of the chain applied (so its own patch is incremental and applies on "
        "top of the run's branch), and its agent resumes the run's saved conversation. repo "
        "may be left out (it must be the run's otherwise); ref must not be given. 404 when "
        "the run does not exist; 400 when it has no repository; 409 when it is not STOPPED, "
        "its result is not read yet (retry), its patch was truncated or cannot be read back, "
        "or another continuation of it is still running"
    ),
}
REQUEST_SCHEMAS: dict[str, Any] = {
    "CreateRunRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["prompt", "provider", "model"],
        "description": "ref only together with repo, and never with continue_from",
        "anyOf": [
            {"not": {"required": ["ref"]}},
            {"required": ["repo"], "not": {"required": ["continue_from"]}},
        ],
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT_CHARS},
            "provider": _PROVIDER,
            "model": _MODEL,
            "max_runtime_seconds": _RUNTIME,
            "repo": _REPO,
            "ref": _GIT_REF,
            "egress_domains": _EGRESS_DOMAINS,
            "max_cost_usd": _MAX_COST,
            "continue_from": _CONTINUE_FROM,
        },
    },
    "CreateSessionRequest": {
        "type": "object",
        "additionalProperties": False,
        "description": "provider and model are given together or not at all; without them "
        "the session runs the task of the first provider (anthropic, openai, google, xai, "
        "openrouter) whose key is set",
        "anyOf": [
            {"required": ["provider", "model"]},
            {"not": {"anyOf": [{"required": ["provider"]}, {"required": ["model"]}]}},
        ],
        "properties": {
            "provider": _PROVIDER,
            "model": _MODEL,
            "max_runtime_seconds": _RUNTIME,
            "egress_domains": _EGRESS_DOMAINS,
        },
    },
}
