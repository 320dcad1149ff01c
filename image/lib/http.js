// One HTTP request to a presigned S3 URL (docs/ARCHITECTURE.md §4): repo-init GETs a
// continuation's bundle, the agent PUTs the run's session. The control plane signs the URLs
// with its own role, so neither container holds an AWS permission or credential.
//
// Node's http/https rather than fetch: a body over the cap is abandoned as soon as it is
// known to be too big (the socket is destroyed, not drained), and one timer bounds the
// whole exchange, connect and body included.
"use strict";

const http = require("node:http");
const https = require("node:https");

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

// https anywhere; plain http only to this machine (make up's embedded S3 on 127.0.0.1), so a
// session never crosses a network in the clear. -> {url} or {error}
function checkUrl(name, raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return { error: `${name} is not a URL` };
  }
  if (url.username || url.password) return { error: `${name} must not carry credentials` };
  if (url.protocol === "https:") return { url };
  if (url.protocol === "http:" && LOOPBACK.has(url.hostname)) return { url };
  return { error: `${name} must be an https:// URL (http:// only to 127.0.0.1)` };
}

// Resolves {status, body: Buffer}; rejects with an Error whose message says what failed
// (never the URL: its query string is the signature). `timeoutMs` bounds the whole request.
function request(method, url, { body = null, headers = {}, timeoutMs, maxBytes = Infinity }) {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === "https:" ? https : http;
    let settled = false;
    const done = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const opts = { method, headers: { ...headers } };
    if (body !== null) opts.headers["Content-Length"] = String(body.length);
    const req = lib.request(url, opts, (res) => {
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > maxBytes) {
        req.destroy();
        done(reject, new Error(`the answer is ${declared} bytes, over the ${maxBytes}-byte limit`));
        return;
      }
      const parts = [];
      let size = 0;
      res.on("data", (chunk) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy();
          done(reject, new Error(`the answer is over the ${maxBytes}-byte limit`));
          return;
        }
        parts.push(chunk);
      });
      res.on("end", () => done(resolve, { status: res.statusCode, body: Buffer.concat(parts) }));
      res.on("error", (err) => done(reject, err));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(reject, new Error(`no complete answer within ${Math.round(timeoutMs / 100) / 10}s`));
    }, Math.max(1, timeoutMs));
    req.on("error", (err) => done(reject, new Error(err.code ? `${err.code}: ${err.message}` : err.message)));
    req.end(body === null ? undefined : body);
  });
}

// The reason an S3 error answer gives (<Code>, <Message>), short, for an event or a reason line.
function s3Reason(res) {
  const text = res.body.toString("utf8", 0, Math.min(res.body.length, 4096));
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text);
  const msg = /<Message>([^<]{1,200})<\/Message>/.exec(text);
  const detail = [code && code[1], msg && msg[1]].filter(Boolean).join(": ");
  return `HTTP ${res.status}${detail ? ` (${detail})` : ""}`;
}

module.exports = { checkUrl, request, s3Reason };
