// One model call to the provider: the agent's request with its credentials replaced by the
// real key, and the provider's response passed back byte for byte (SSE included) while a
// copy of it goes through the usage meter.
"use strict";

const http = require("node:http");
const https = require("node:https");
const zlib = require("node:zlib");
const { UsageMeter } = require("./usage");

// Never forwarded upstream: hop-by-hop headers, the client's idea of the host and length,
// and every header a credential can travel in (the real one is added below).
const DROP_REQUEST = new Set([
  "host", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
  "transfer-encoding", "upgrade", "content-length", "authorization", "x-api-key", "x-goog-api-key",
  "cookie", "accept-encoding", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip",
]);
const DROP_RESPONSE = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "trailer", "set-cookie"]);
const UPSTREAM_IDLE_MS = 10 * 60 * 1000; // a stalled provider: no byte for this long

function credential(spec, key) {
  if (spec.auth === "x-api-key") return { "x-api-key": key };
  if (spec.auth === "x-goog-api-key") return { "x-goog-api-key": key };
  return { authorization: `Bearer ${key}` };
}

// <upstream base><path>?<query without `key`>
function targetUrl(upstream, incoming) {
  const url = new URL(upstream.href);
  url.pathname = `${upstream.pathname.replace(/\/+$/, "")}${incoming.pathname}`;
  const query = new URLSearchParams(incoming.search);
  query.delete("key");
  url.search = query.toString();
  return url;
}

function requestHeaders(incoming, spec, key, length) {
  const out = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (!DROP_REQUEST.has(name)) out[name] = value;
  }
  // identity: the meter reads the bytes the agent gets, so they must not be compressed
  return { ...out, "accept-encoding": "identity", "content-length": String(length), ...credential(spec, key) };
}

// A decompressing copy for the meter should a provider compress anyway.
function meterSink(meter, encoding) {
  const codec = { gzip: zlib.createGunzip, "x-gzip": zlib.createGunzip, deflate: zlib.createInflate, br: zlib.createBrotliDecompress }[
    (encoding || "").trim().toLowerCase()
  ];
  if (!codec) return { write: (c) => meter.push(c), end: (cb) => cb() };
  const z = codec();
  z.on("data", (c) => meter.push(c));
  z.on("error", () => {}); // a corrupt body: no usage from it
  return { write: (c) => z.write(c), end: (cb) => z.end(cb) };
}

// Resolves {status, usage} once the provider's response has been read to its end (also when
// the agent hung up meanwhile: the provider bills what it generated, so the meter reads on),
// or {error} when the provider could not be reached.
function forward({ cfg, req, res, body, target }) {
  return new Promise((resolve) => {
    const client = target.protocol === "https:" ? https : http;
    const up = client.request(target, {
      method: "POST",
      headers: requestHeaders(req.headers, cfg.spec, cfg.key, body.length),
    });
    let clientGone = false;
    res.on("close", () => {
      if (!res.writableFinished) clientGone = true;
    });
    up.setTimeout(UPSTREAM_IDLE_MS, () => up.destroy(new Error("no answer from the provider")));
    up.on("error", (err) => resolve({ error: err.message }));
    up.on("response", (upRes) => {
      const headers = {};
      for (const [name, value] of Object.entries(upRes.headers)) {
        if (!DROP_RESPONSE.has(name)) headers[name] = value;
      }
      if (!clientGone) res.writeHead(upRes.statusCode, headers);
      const meter = new UsageMeter(cfg.spec.api, upRes.headers["content-type"]);
      const sink = meterSink(meter, upRes.headers["content-encoding"]);
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        sink.end(() => resolve({ status: upRes.statusCode, usage: meter.end() }));
      };
      upRes.on("data", (chunk) => {
        sink.write(chunk);
        if (clientGone) return;
        if (!res.write(chunk)) {
          upRes.pause();
          res.once("drain", () => upRes.resume());
        }
      });
      res.on("close", () => upRes.resume()); // a paused stream must go on for the meter
      upRes.on("end", () => {
        if (!clientGone) res.end();
        settle();
      });
      upRes.on("aborted", settle);
      upRes.on("error", () => {
        if (!clientGone) res.destroy();
        settle();
      });
    });
    up.end(body);
  });
}

module.exports = { forward, targetUrl };
