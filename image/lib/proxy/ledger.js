// The run's spend: one `model_usage` line per forwarded call (with the running total), the
// cap check before each call, and the totals `proxy_end` reports.
"use strict";

const { line } = require("./log");

const round = (x) => Math.round(x * 1e10) / 1e10; // drop float noise from sums

class Ledger {
  constructor(maxCost) {
    this.maxCost = maxCost;
    this.seq = 0;
    this.refused = false; // a call was refused because of the cap
    this.total = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, cost_usd: 0, calls: 0 };
  }

  // The cap holds before a call is forwarded: once the spend reached it, nothing more goes
  // out. A call that starts under the cap may cross it (the run overspends by at most the
  // calls already in flight -- one, for pi's sequential loop).
  allows() {
    if (this.total.cost_usd < this.maxCost) return true;
    if (!this.refused) {
      this.refused = true;
      line("budget_exceeded", { total_cost_usd: this.total.cost_usd, max_cost_usd: this.maxCost });
    }
    return false;
  }

  record(model, status, usage, cost) {
    const u = usage || { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
    const t = this.total;
    t.input_tokens += u.input;
    t.output_tokens += u.output;
    t.cache_read_tokens += u.cacheRead;
    t.cache_write_tokens += u.cacheWrite;
    t.cost_usd = round(t.cost_usd + cost);
    t.calls += 1;
    line("model_usage", {
      seq: this.seq++,
      model,
      status,
      input_tokens: u.input,
      output_tokens: u.output,
      cache_read_tokens: u.cacheRead,
      cache_write_tokens: u.cacheWrite,
      cost_usd: round(cost),
      total: { ...t },
    });
  }

  end() {
    line("proxy_end", { usage: { ...this.total }, budget_exceeded: this.refused });
  }
}

module.exports = { Ledger };
