// Errors the proxy answers itself, shaped like the provider's own so pi's SDK reads the
// message out of them and shows it in the run's final error.
"use strict";

// The wording must not match pi's retry pattern (agent-session.js _isRetryableError:
// "overloaded", "rate limit", "server error", "timeout", "429", "500", "502", "503", "504",
// ...): pi would retry a refusal that can only be refused again. That is also why the cap
// refusal carries no amounts -- a number such as 0.5004 or a cap of 500 contains "500".
const CAP_MESSAGE =
  "cloudagent: this run's model spend cap is reached; the model proxy refuses further model calls " +
  "(the run's cap and spend are in its model-proxy log)";

function body(api, status, kind, message) {
  switch (api) {
    case "anthropic-messages":
      return { type: "error", error: { type: kind.anthropic, message } };
    case "google-generative-ai":
      return { error: { code: status, message, status: kind.google } };
    default: // openai-responses, openai-completions
      return { error: { message, type: kind.openai, code: kind.openai, param: null } };
  }
}

const KINDS = {
  402: { anthropic: "billing_error", google: "FAILED_PRECONDITION", openai: "cloudagent_spend_cap_reached" },
  400: { anthropic: "invalid_request_error", google: "INVALID_ARGUMENT", openai: "invalid_request_error" },
  404: { anthropic: "not_found_error", google: "NOT_FOUND", openai: "not_found" },
  405: { anthropic: "invalid_request_error", google: "INVALID_ARGUMENT", openai: "invalid_request_error" },
  413: { anthropic: "request_too_large", google: "INVALID_ARGUMENT", openai: "invalid_request_error" },
  502: { anthropic: "api_error", google: "UNAVAILABLE", openai: "upstream_error" },
};

function sendError(res, api, status, message) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const data = Buffer.from(JSON.stringify(body(api, status, KINDS[status] || KINDS[400], message)));
  res.writeHead(status, { "content-type": "application/json", "content-length": data.length });
  res.end(data);
}

module.exports = { CAP_MESSAGE, sendError };
