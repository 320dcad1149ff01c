// The proxy's HTTP server on 127.0.0.1: the health route answered locally, every other
// request checked (route, price, cap) and then forwarded to the provider.
"use strict";

const http = require("node:http");
const { MODEL_PROXY_HEALTH_PATH } = require("../constants");
const { CAP_MESSAGE, sendError } = require("./errors");
const { forward, targetUrl } = require("./forward");
const { route } = require("./route");

const MAX_BODY_BYTES = 64 * 1024 * 1024; // a request (context + images) larger than this is refused

// OpenAI's service tiers as pi-ai prices them (openai-responses.js getServiceTierCostMultiplier).
function tierMultiplier(provider, modelId, tier) {
  if (provider !== "openai") return 1;
  if (tier === "flex") return 0.5;
  if (tier === "priority") return modelId === "gpt-5.5" ? 2.5 : 2;
  return 1;
}

function readBody(req) {
  return new Promise((resolve) => {
    const parts = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) parts.push(chunk);
    });
    req.on("end", () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(parts)));
    req.on("error", () => resolve(null));
  });
}

async function handle(ctx, req, res) {
  const { cfg, pricing, ledger } = ctx;
  const api = cfg.spec.api;
  let incoming;
  try {
    incoming = new URL(req.url, "http://proxy.invalid");
  } catch {
    sendError(res, api, 400, "cloudagent: bad request path");
    return;
  }
  if (req.method === "GET" && incoming.pathname === MODEL_PROXY_HEALTH_PATH) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
    return;
  }
  const body = await readBody(req);
  if (body === null) {
    sendError(res, api, 413, `cloudagent: the request is larger than ${MAX_BODY_BYTES} bytes`);
    return;
  }
  const r = route(api, req.method, incoming.pathname, body);
  if (r.status) {
    sendError(res, api, r.status, r.message);
    return;
  }
  const priced = pricing.price(r.model);
  if (priced.error) {
    sendError(res, api, 400, `cloudagent: ${priced.error}; the run's spend cap cannot be kept on it`);
    return;
  }
  // 402 Payment Required: not retried by the providers' SDKs (they retry 408/409/429/5xx)
  // nor by pi (its retry pattern matches none of the message, see errors.js), so pi's turn
  // ends at once with stopReason "error" and the entrypoint ends the run (exit 1).
  if (!ledger.allows()) {
    sendError(res, api, 402, CAP_MESSAGE);
    return;
  }
  const out = await forward({ cfg, req, res, body: r.body, target: targetUrl(cfg.upstream, incoming) });
  if (out.error) {
    // the same words as a provider outage (pi retries those): the call never reached it
    ledger.record(r.model, 502, null, 0);
    sendError(res, api, 502, `cloudagent: could not reach the provider (502 bad gateway): ${out.error}`);
    return;
  }
  const usage = out.usage;
  const tier = usage && usage.serviceTier !== undefined && usage.serviceTier !== null ? usage.serviceTier : r.serviceTier;
  const cost = usage ? pricing.cost(priced.model, usage, tierMultiplier(cfg.provider, r.model, tier)) : 0;
  ledger.record(r.model, out.status, usage, cost);
}

function createProxyServer(ctx) {
  return http.createServer((req, res) => {
    handle(ctx, req, res).catch((err) => {
      sendError(res, ctx.cfg.spec.api, 502, `cloudagent: proxy failure: ${err.message}`);
    });
  });
}

module.exports = { createProxyServer };
