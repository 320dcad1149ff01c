// Prices with pi's own table: `getModel(provider, id).cost` (US dollars per million tokens)
// and `calculateCost` from `@mariozechner/pi-ai`, the very package the agent's pi runs on, so
// the proxy's bill and pi's own estimate are the same arithmetic on the same numbers.
//
// pi-ai is an ES module without a CommonJS entry: it is found in the node_modules pi is
// installed in (/opt/pi in the image; in host tests the `.bin` directory of pi on PATH) and
// loaded with a dynamic import of its public entry.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { pathToFileURL } = require("node:url");

const PACKAGE = "@mariozechner/pi-ai";
const IMAGE_MODULES = "/opt/pi/node_modules";

function moduleRoots() {
  const fromPath = (process.env.PATH || "")
    .split(path.delimiter)
    .filter((dir) => path.basename(dir) === ".bin" && path.basename(path.dirname(dir)) === "node_modules")
    .map((dir) => path.dirname(dir));
  return [IMAGE_MODULES, ...fromPath];
}

// The file of the package's "." export for `import` (what `import "@mariozechner/pi-ai"` loads).
function entryFile() {
  for (const root of moduleRoots()) {
    const dir = path.join(root, PACKAGE);
    let pkg;
    try {
      pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    const dot = pkg.exports && pkg.exports["."];
    const rel = (dot && (typeof dot === "string" ? dot : dot.import || dot.default)) || pkg.main;
    if (rel) return path.join(dir, rel);
  }
  return null;
}

// A table entry is a price only if every rate is a number and they are not all zero: pi
// writes 0 for a model it has no price for (e.g. openrouter's `auto` router), and a cap
// cannot be kept on a model billed at an unknown rate. Free variants (`:free`) cost nothing.
function isPriced(modelId, cost) {
  if (!cost) return false;
  const rates = ["input", "output", "cacheRead", "cacheWrite"].map((k) => cost[k]);
  if (!rates.every((r) => typeof r === "number" && Number.isFinite(r) && r >= 0)) return false;
  return rates.some((r) => r > 0) || modelId.endsWith(":free");
}

// -> {price(modelId) -> {model} | {error}, cost(model, usage) -> dollars}
async function loadPricing(provider) {
  const file = entryFile();
  if (!file) throw new Error(`${PACKAGE} not found (looked in ${moduleRoots().join(", ")})`);
  const piAi = await import(pathToFileURL(file).href);
  if (typeof piAi.getModel !== "function" || typeof piAi.calculateCost !== "function")
    throw new Error(`${PACKAGE} at ${file} has no getModel/calculateCost`);
  return {
    price(modelId) {
      const model = typeof modelId === "string" && modelId ? piAi.getModel(provider, modelId) : undefined;
      if (!model) return { error: `model ${JSON.stringify(modelId)} is not in pi's price table for ${provider}` };
      if (!isPriced(modelId, model.cost))
        return { error: `model ${JSON.stringify(modelId)} has no price in pi's table for ${provider}` };
      return { model };
    },
    // usage: {input, output, cacheRead, cacheWrite} (pi's meaning of each), plus a multiplier
    // for OpenAI's service tiers as pi applies it.
    cost(model, usage, multiplier = 1) {
      const u = { ...usage, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } };
      return piAi.calculateCost(model, u).total * multiplier;
    },
  };
}

module.exports = { loadPricing };
