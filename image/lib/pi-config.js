// pi talks to the model proxy, never to the provider: before pi starts (headless, or an
// operator's interactive session), `$PI_CODING_AGENT_DIR/models.json` (pi's default
// ~/.pi/agent/models.json) points the provider's baseUrl at the proxy with the placeholder
// key, and the proxy must answer its health route.
//
// The placeholder is a literal in models.json, so pi needs no key variable in its
// environment (pi resolves an apiKey that names no variable to the value itself).
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { MODEL_PROXY_PLACEHOLDER_KEY, MODEL_PROXY_HEALTH_PATH } = require("./constants");

function agentDir() {
  const dir = (process.env.PI_CODING_AGENT_DIR || "").trim();
  return dir || path.join(process.env.HOME || os.homedir(), ".pi", "agent");
}

// providers[<provider>] = {...what is there (the local runner's api/models for its fake
// model), baseUrl: proxy, apiKey: placeholder}; other providers and keys are kept.
function pointPiAtProxy(provider, proxyUrl) {
  const file = path.join(agentDir(), "models.json");
  let doc = {};
  try {
    doc = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    if (err.code !== "ENOENT") return `cannot read ${file}: ${err.message}`;
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) doc = {};
  const providers = doc.providers && typeof doc.providers === "object" ? doc.providers : {};
  providers[provider] = { ...(providers[provider] || {}), baseUrl: proxyUrl, apiKey: MODEL_PROXY_PLACEHOLDER_KEY };
  doc.providers = providers;
  // Readable by all (it holds the proxy's address and the placeholder, no secret): an ECS
  // Exec shell is root without capabilities, which cannot read uid 1000's private files, and
  // its pi finds this file with PI_CODING_AGENT_DIR=/home/operator/.pi/agent.
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch (err) {
    return `cannot write ${file}: ${err.message}`;
  }
  return null;
}

function healthy(proxyUrl) {
  return new Promise((resolve) => {
    const req = http.get(`${proxyUrl}${MODEL_PROXY_HEALTH_PATH}`, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

// Polls the health route until it answers 200 or `waitMs` passed; null or an error message.
async function waitForProxy(proxyUrl, waitMs, isFinished) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await healthy(proxyUrl)) return null;
    if (isFinished()) return null;
    if (Date.now() >= deadline)
      return `model proxy at ${proxyUrl} not reachable after ${waitMs / 1000}s (no answer on ${MODEL_PROXY_HEALTH_PATH})`;
    await new Promise((r) => setTimeout(r, 100));
  }
}

module.exports = { pointPiAtProxy, waitForProxy };
