// Names the three containers of a task share (docs/ARCHITECTURE.md §4). The stacks declare the
// same values in stacks/shared/constants.py; tests/image/test_image_constants.py keeps the two
// in step.
"use strict";

// The providers the project supports: the variable that holds each one's key (in the
// model-proxy container only), the API host it is forwarded to (pi-ai's own baseUrl for the
// provider's models), the header that carries the key there, and the wire format pi speaks
// to it (pi-ai's `api` for every built-in model of that provider).
const PROVIDERS = Object.freeze({
  anthropic: {
    keyVar: "ANTHROPIC_API_KEY",
    upstream: "https://api.anthropic.com",
    auth: "x-api-key",
    api: "anthropic-messages",
  },
  openai: {
    keyVar: "OPENAI_API_KEY",
    upstream: "https://api.openai.com/v1",
    auth: "bearer",
    api: "openai-responses",
  },
  google: {
    keyVar: "GEMINI_API_KEY",
    upstream: "https://generativelanguage.googleapis.com/v1beta",
    auth: "x-goog-api-key",
    api: "google-generative-ai",
  },
  xai: { keyVar: "XAI_API_KEY", upstream: "https://api.x.ai/v1", auth: "bearer", api: "openai-completions" },
  openrouter: {
    keyVar: "OPENROUTER_API_KEY",
    upstream: "https://openrouter.ai/api/v1",
    auth: "bearer",
    api: "openai-completions",
  },
});
const PROVIDER_KEY_VARS = Object.freeze(Object.values(PROVIDERS).map((p) => p.keyVar));

const MODEL_PROXY_PORT = 8787; // default of MODEL_PROXY_PORT; the agent's AGENT_MODEL_PROXY_URL port
const MODEL_PROXY_UID = 1001; // the proxy's user: not the agent's (1000), so it cannot read its environment
// The key pi sends to the proxy (models.json apiKey): a fixed, public value the proxy drops.
const MODEL_PROXY_PLACEHOLDER_KEY = "cloudagent-model-proxy";
const MODEL_PROXY_HEALTH_PATH = "/__cloudagent/health";
const AGENT_HANDOFF_DIR = "/run/cloudagent/handoff"; // default of AGENT_HANDOFF_DIR
const CLONE_RESULT_FILE = "clone.json"; // what repo-init leaves there for the agent
const REPO_TOKEN_VAR = "AGENT_REPO_TOKEN"; // read by repo-init only
// A continued run (docs/ARCHITECTURE.md §4): repo-init GETs the bundle the control plane
// wrote (the ancestors' patches, the parent's session) from this presigned URL ...
const CONTINUE_URL_VAR = "AGENT_CONTINUE_URL";
// ... and leaves the parent's session beside clone.json under this name for the agent, which
// PUTs its own session to this presigned URL when the run ends (every run with a repository).
const SESSION_HANDOFF_FILE = "session.jsonl";
const SESSION_UPLOAD_URL_VAR = "AGENT_SESSION_UPLOAD_URL";
// The value earlier versions stored in every provider secret: a key that still holds it is
// "no key configured" (stacks/shared/constants.py PROVIDER_KEY_PLACEHOLDER).
const KEY_PLACEHOLDER = "cloudagent:not-set";

module.exports = {
  PROVIDERS,
  PROVIDER_KEY_VARS,
  MODEL_PROXY_PORT,
  MODEL_PROXY_UID,
  MODEL_PROXY_PLACEHOLDER_KEY,
  MODEL_PROXY_HEALTH_PATH,
  AGENT_HANDOFF_DIR,
  CLONE_RESULT_FILE,
  REPO_TOKEN_VAR,
  CONTINUE_URL_VAR,
  SESSION_HANDOFF_FILE,
  SESSION_UPLOAD_URL_VAR,
  KEY_PLACEHOLDER,
};
