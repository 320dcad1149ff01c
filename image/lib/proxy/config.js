// The proxy's configuration, all from its environment and checked before it listens: a bad
// value ends it with one `proxy_error` line and exit 2, which stops the task (the proxy is
// essential), so a run never starts against a proxy that cannot keep its promises.
"use strict";

const { PROVIDERS, MODEL_PROXY_PORT, KEY_PLACEHOLDER } = require("../constants");

const TRUE = ["1", "true"];

// MODEL_PROXY_UPSTREAM replaces the provider's API host: https only, or plain http to this
// machine's loopback with MODEL_PROXY_ALLOW_LOCAL_UPSTREAM=1 (the local runner's fake model).
function checkUpstream(raw, allowLocal) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return { error: `MODEL_PROXY_UPSTREAM is not a URL: ${JSON.stringify(raw)}` };
  }
  if (url.username || url.password || url.search || url.hash)
    return { error: "MODEL_PROXY_UPSTREAM must be a plain base URL (no credentials, query or fragment)" };
  if (url.protocol === "https:") return { url };
  if (url.protocol === "http:" && url.hostname === "127.0.0.1") {
    if (allowLocal) return { url };
    return { error: "MODEL_PROXY_UPSTREAM is plain http, allowed only to 127.0.0.1 with MODEL_PROXY_ALLOW_LOCAL_UPSTREAM=1" };
  }
  return { error: `MODEL_PROXY_UPSTREAM must be an https:// URL, got ${JSON.stringify(raw)}` };
}

function checkCap(raw) {
  const s = (raw || "").trim();
  if (!s) return { error: "MODEL_PROXY_MAX_COST_USD is not set (the run's spend cap in US dollars)" };
  if (!/^[0-9]+(\.[0-9]+)?$/.test(s) || !(Number(s) > 0))
    return { error: `MODEL_PROXY_MAX_COST_USD must be a positive decimal number of US dollars, got ${JSON.stringify(raw)}` };
  return { value: Number(s) };
}

function checkPort(raw) {
  const s = (raw || "").trim();
  if (!s) return { value: MODEL_PROXY_PORT };
  if (!/^[0-9]+$/.test(s) || Number(s) > 65535)
    return { error: `MODEL_PROXY_PORT must be a port number (0-65535; 0 picks a free one), got ${JSON.stringify(raw)}` };
  return { value: Number(s) };
}

// -> {provider, spec, key, upstream (URL), maxCost, port} or {error, provider?}.
function readProxyConfig(env) {
  const provider = (env.MODEL_PROXY_PROVIDER || "").trim();
  const spec = Object.hasOwn(PROVIDERS, provider) ? PROVIDERS[provider] : null;
  if (!spec)
    return {
      error: `unknown MODEL_PROXY_PROVIDER ${JSON.stringify(provider)} (expected one of ${Object.keys(PROVIDERS).join(", ")})`,
    };
  const key = (env[spec.keyVar] || "").trim();
  if (!key) return { provider, error: `${spec.keyVar} is missing or empty for provider ${provider}` };
  if (key === KEY_PLACEHOLDER)
    return {
      provider,
      error: `${spec.keyVar} is not set for provider ${provider} (its secret holds the placeholder; set the key with the admin function)`,
    };
  if (/[\r\n\x00]/.test(key)) return { provider, error: `${spec.keyVar} contains a line break or NUL` };
  const upstreamRaw = (env.MODEL_PROXY_UPSTREAM || "").trim();
  const up = upstreamRaw
    ? checkUpstream(upstreamRaw, TRUE.includes((env.MODEL_PROXY_ALLOW_LOCAL_UPSTREAM || "").trim().toLowerCase()))
    : { url: new URL(spec.upstream) };
  if (up.error) return { provider, error: up.error };
  const cap = checkCap(env.MODEL_PROXY_MAX_COST_USD);
  if (cap.error) return { provider, error: cap.error };
  const port = checkPort(env.MODEL_PROXY_PORT);
  if (port.error) return { provider, error: port.error };
  return { provider, spec, key, upstream: up.url, maxCost: cap.value, port: port.value };
}

module.exports = { readProxyConfig };
