// Token usage from one model response, read the way pi-ai reads it for each wire format, so
// input/output/cache mean what pi's price table prices. The response is only observed: its
// bytes go to the agent unchanged (forward.js); this module sees a copy.
//
// Streams (text/event-stream) are parsed event by event; anything else is buffered (up to a
// bound) and parsed as JSON once complete. Where a provider reports usage more than once in
// a stream, the last report wins, as in pi.
"use strict";

const MAX_EVENT_BYTES = 64 * 1024 * 1024; // one SSE event or one JSON body, for metering only

const num = (x) => (typeof x === "number" && Number.isFinite(x) && x > 0 ? x : 0);

// Per API format: the usage an event reports (pi's meaning), or null when it reports none.
const READERS = {
  // message_start carries input and cache counts; message_delta (at the end) the final
  // counts, where present. A non-streamed reply is the message itself.
  "anthropic-messages": (ev, prev) => {
    let u = null;
    if (ev.type === "message_start" && ev.message && ev.message.usage) u = ev.message.usage;
    else if ((ev.type === "message_delta" || ev.type === "message") && ev.usage) u = ev.usage;
    if (!u) return null;
    const pick = (field, old) => (u[field] != null ? num(u[field]) : old);
    const base = ev.type === "message_delta" && prev ? prev : { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
    return {
      input: pick("input_tokens", base.input),
      output: pick("output_tokens", base.output),
      cacheRead: pick("cache_read_input_tokens", base.cacheRead),
      cacheWrite: pick("cache_creation_input_tokens", base.cacheWrite),
    };
  },
  // response.completed / .incomplete / .failed carry the response with its usage; OpenAI
  // counts cached tokens inside input_tokens.
  "openai-responses": (ev) => {
    const r = ev.object === "response" ? ev : ev.response;
    if (!r || !r.usage) return null;
    const cached = num(r.usage.input_tokens_details && r.usage.input_tokens_details.cached_tokens);
    return {
      input: Math.max(0, num(r.usage.input_tokens) - cached),
      output: num(r.usage.output_tokens),
      cacheRead: cached,
      cacheWrite: 0,
      serviceTier: r.service_tier,
    };
  },
  // The last chunk's usage (stream_options.include_usage, which forward.js enforces), or
  // choices[0].usage as some compatible hosts send it; as pi-ai's parseChunkUsage.
  "openai-completions": (ev) => {
    const u = ev.usage || (Array.isArray(ev.choices) && ev.choices[0] && ev.choices[0].usage);
    if (!u) return null;
    const details = u.prompt_tokens_details || {};
    const reported = num(details.cached_tokens ?? u.prompt_cache_hit_tokens);
    const cacheWrite = num(details.cache_write_tokens);
    const cacheRead = cacheWrite > 0 ? Math.max(0, reported - cacheWrite) : reported;
    return {
      input: Math.max(0, num(u.prompt_tokens) - cacheRead - cacheWrite),
      output: num(u.completion_tokens),
      cacheRead,
      cacheWrite,
    };
  },
  // Every chunk may carry usageMetadata; thinking tokens are billed as output.
  "google-generative-ai": (ev) => {
    const m = ev.usageMetadata;
    if (!m) return null;
    const cached = num(m.cachedContentTokenCount);
    return {
      input: Math.max(0, num(m.promptTokenCount) - cached),
      output: num(m.candidatesTokenCount) + num(m.thoughtsTokenCount),
      cacheRead: cached,
      cacheWrite: 0,
    };
  },
};

class UsageMeter {
  constructor(api, contentType) {
    this.read = READERS[api];
    this.sse = /^text\/event-stream\b/i.test(contentType || "");
    this.usage = null;
    this.text = ""; // SSE: the unfinished line; JSON: the body so far
    this.data = []; // SSE: data lines of the event being read
    this.dataBytes = 0;
    this.overflow = false;
    this.decoder = new TextDecoder("utf-8");
  }

  take(ev) {
    if (!ev || typeof ev !== "object") return;
    const u = this.read(ev, this.usage);
    if (u) this.usage = u;
  }

  dispatch() {
    if (this.data.length && !this.overflow) {
      const payload = this.data.join("\n");
      if (payload !== "[DONE]") {
        try {
          this.take(JSON.parse(payload));
        } catch {
          // not JSON: not a usage report
        }
      }
    }
    this.data = [];
    this.dataBytes = 0;
    this.overflow = false;
  }

  push(chunk) {
    const text = this.decoder.decode(chunk, { stream: true });
    if (!this.sse) {
      if (this.text.length + text.length > MAX_EVENT_BYTES) this.overflow = true;
      else this.text += text;
      return;
    }
    const lines = (this.text + text).split(/\r\n|\r|\n/);
    this.text = lines.pop();
    for (const l of lines) this.line(l);
  }

  line(l) {
    if (l === "") return this.dispatch();
    if (!l.startsWith("data:")) return undefined; // event:, id:, retry:, comments
    const value = l.slice(l[5] === " " ? 6 : 5);
    this.dataBytes += value.length;
    if (this.dataBytes > MAX_EVENT_BYTES) this.overflow = true;
    else this.data.push(value);
    return undefined;
  }

  // -> {input, output, cacheRead, cacheWrite, serviceTier?} or null when nothing was reported.
  end() {
    const rest = this.decoder.decode();
    if (this.sse) {
      const lines = (this.text + rest).split(/\r\n|\r|\n/);
      for (const l of lines) this.line(l);
      this.dispatch();
    } else if (!this.overflow) {
      try {
        const body = JSON.parse(this.text + rest);
        for (const ev of Array.isArray(body) ? body : [body]) this.take(ev);
      } catch {
        // an error page or a body cut short: no usage
      }
    }
    return this.usage;
  }
}

module.exports = { UsageMeter, READERS };
