"""Names and limits: the facts every stack, check and test shares, kept in one place.

What an operator may change lives in `settings.py`; what is fixed by the design (the task
shape, the container contract, retention) lives here, prices in `prices.py`. `security/`
imports these too, so a check and the stack it checks cannot disagree.
"""

from __future__ import annotations

PROJECT = "cloudagent"
STACK_NAMES = ("foundation", "agent", "api")

# --- Agent providers: pi's provider id -> the environment variable pi reads its key from. ---
PROVIDER_KEY_ENV = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "google": "GEMINI_API_KEY",
    "xai": "XAI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
PROVIDERS = tuple(PROVIDER_KEY_ENV)
# Provider secrets are created with no value at all (stacks/foundation/data.py); the API refuses
# a run whose key has no value (409), since ECS cannot start a task that injects an empty secret.
# Earlier versions of the project stored this placeholder in every provider secret instead; a
# secret that still holds it counts as set, so the entrypoint treats the placeholder as a
# missing key (exit 2). Kept in step with image/lib/config.js by a test.
PROVIDER_KEY_PLACEHOLDER = "cloudagent:not-set"

# --- Limits shared by the stacks, the container contract and the checks. ---
LOG_RETENTION_DAYS = 14
ECR_IMAGES_KEPT = 10
AGENT_MAX_RUNTIME_SECONDS = 7200  # hard cap, docs/ARCHITECTURE.md §4
AGENT_STOP_GRACE_SECONDS = 30  # SIGTERM -> SIGKILL; also the ECS stopTimeout
AGENT_STOP_GRACE_MAX_SECONDS = 120  # ECS caps stopTimeout at 120 s (image/lib/config.js too)
AGENT_CONTAINER_NAME = "agent"
AGENT_USER_UID = 1000  # the image's non-root `operator` user (image/Dockerfile)
AGENT_WORKSPACE = "/workspace"
# Repository in, patch out (docs/ARCHITECTURE.md §4): the env var of the optional read-only
# clone token (ECS injects it as a secret; the entrypoint keeps it out of pi's environment) and
# the limits of the `patch` events the control plane reassembles. Kept in step with
# image/lib/config.js, patch.js and result.js by a test.
AGENT_REPO_TOKEN_ENV = "AGENT_REPO_TOKEN"
# The agent holds no secret (docs/ARCHITECTURE.md §4): beside it in each task run a `model-proxy`
# sidecar, alone holding the provider's key, and (runs with a repository) a `repo-init`
# container, alone holding the clone token. The agent reaches the proxy on 127.0.0.1 with a
# placeholder key and reads repo-init's clone result from the handoff volume. Kept in step with
# the image's JavaScript by a test.
MODEL_PROXY_CONTAINER_NAME = "model-proxy"
REPO_INIT_CONTAINER_NAME = "repo-init"
MODEL_PROXY_PORT = 8787
MODEL_PROXY_UID = 1001
MODEL_PROXY_CPU_UNITS = 256
MODEL_PROXY_MEMORY_MIB = 512
HANDOFF_VOLUME = "handoff"
AGENT_HANDOFF_DIR = "/run/cloudagent/handoff"
MODEL_PROXY_PLACEHOLDER_KEY = "cloudagent-model-proxy"
PATCH_CHUNK_BYTES = 200_000  # patch text per `patch` event
PATCH_MAX_BYTES = 10 * 1024 * 1024  # whole patch; beyond it the patch is cut and flagged
FINAL_MESSAGE_MAX_BYTES = 64 * 1024  # result.final_message

# The largest Fargate shape (docs/ARCHITECTURE.md §1).
TASK_CPU_UNITS = 16384
TASK_MEMORY_MIB = 122880
TASK_EPHEMERAL_STORAGE_GIB = 200
# Both are associated with the cluster; the setting `capacity` picks which RunTask asks for.
FARGATE_CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
# The encryption context the SSM agent in a task sends with the kms:Decrypt of an ECS Exec
# session's data key (amazon-ssm-agent, agent/session/crypto): it calls KMS itself, with the
# task role's credentials, so no `kms:ViaService` is present; this key is what tells a session
# key from any other ciphertext of the project key (stacks/agent/roles.py, CKV_CA_4).
EXEC_SESSION_CONTEXT_KEY = "kms:EncryptionContext:aws:ssm:SessionId"

# --- The edge: CloudFront sends this header with a secret value; the control API refuses any
# request without it, so the API cannot be reached around CloudFront and its WAF. ---
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
ORIGIN_VERIFY_ENV = "ORIGIN_VERIFY_SECRET_ARN"
# CloudFront also sends the value as `Referer` (it overwrites the viewer's): the REST API's
# resource policy can test only a few request values, and `aws:Referer` is the one a secret can
# ride in, so API Gateway refuses a direct call before any Lambda runs (stacks/api/origin_gate.py).
ORIGIN_REFERER_HEADER = "Referer"
ORIGIN_REFERER_KEY = "aws:Referer"

# --- GitHub OIDC ---
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_ISSUER = f"https://{GITHUB_OIDC_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"

# CloudFront-scope WAF resources, and so the WAF's logs, exist only in us-east-1.
EDGE_REGION = "us-east-1"
# AWS managed Common rule set's rule that blocks bodies over 8 KB: it only counts, since the
# control API accepts bodies up to 64 KiB (a long prompt) and refuses larger ones itself
# (stacks/api/edge.py; CKV_CA_12 lets no other rule of a required group count).
COMMON_BODY_SIZE_RULE = "SizeRestrictions_BODY"

# --- The single table (foundation creates it; the control plane reads and writes it). ---
TABLE_PARTITION_KEY = "pk"
TABLE_SORT_KEY = "sk"
TABLE_TIME_INDEX = "by_time"
TABLE_TIME_INDEX_PARTITION_KEY = "gsi1pk"
TABLE_TIME_INDEX_SORT_KEY = "gsi1sk"
TABLE_TTL_ATTRIBUTE = "expires_at"

# The default `github_repo`: the local placeholder `make synth`, `make up` and the tests run on.
# Any other repository is a deployment, and then `github_repository_id` is required.
LOCAL_GITHUB_REPO = "org/cloudagent"
