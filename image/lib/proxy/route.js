// Which requests are model calls: the one endpoint per wire format that pi calls, and the
// model it names. Anything else is refused -- the proxy spends the key only on calls it
// can meter.
"use strict";

const ENDPOINTS = {
  "anthropic-messages": "/v1/messages",
  "openai-responses": "/responses",
  "openai-completions": "/chat/completions",
};
const GOOGLE = /^\/models\/([A-Za-z0-9._-]+):(generateContent|streamGenerateContent)$/;
const MODEL_ID = /^[A-Za-z0-9._:/@-]{1,200}$/;

function parseJson(body) {
  try {
    const value = JSON.parse(body.toString("utf8"));
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// -> {model, body} (the body to forward, possibly amended) or {status, message}.
function route(api, method, pathname, body) {
  if (method !== "POST")
    return { status: 405, message: `cloudagent: the model proxy forwards model calls only (POST), not ${method}` };
  if (api === "google-generative-ai") {
    const m = GOOGLE.exec(pathname);
    if (!m) return { status: 404, message: `cloudagent: the model proxy forwards model calls only, not ${pathname}` };
    return { model: m[1], body };
  }
  if (pathname !== ENDPOINTS[api])
    return { status: 404, message: `cloudagent: the model proxy forwards model calls only, not ${pathname}` };
  const json = parseJson(body);
  if (!json) return { status: 400, message: "cloudagent: the request body is not a JSON object" };
  if (typeof json.model !== "string" || !MODEL_ID.test(json.model))
    return { status: 400, message: "cloudagent: the request names no model" };
  if (api === "openai-completions" && json.stream === true) {
    // Without include_usage a streamed chat completion reports no usage at all: the meter
    // would see a free call. pi always asks for it; a hand-made request gets it too.
    const opts = json.stream_options && typeof json.stream_options === "object" ? json.stream_options : {};
    if (opts.include_usage !== true) {
      json.stream_options = { ...opts, include_usage: true };
      return { model: json.model, body: Buffer.from(JSON.stringify(json)), serviceTier: json.service_tier };
    }
  }
  return { model: json.model, body, serviceTier: json.service_tier };
}

module.exports = { route };
