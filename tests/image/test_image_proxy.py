"""The model proxy (``image/model-proxy``) on the host, with the project's Node and locked pi.

Local stand-ins of the four APIs pi speaks (``upstreams.py``; plain http on 127.0.0.1 with
MODEL_PROXY_ALLOW_LOCAL_UPSTREAM=1) show, per provider, streamed and JSON: the bytes reach the
client unchanged, the credentials the client sent are dropped and the real key added in the
provider's header, and the usage is priced exactly as pi-ai prices it. Then the cap, the
refusals and the configuration errors; end to end, the real pi through the entrypoint.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from pathlib import Path

import pytest
from agentrun import start
from proxyrun import KEY, kill, start_proxy
from upstreams import ANTHROPIC_USAGE, CASES, KEY_VARS, USAGE, Upstream

from devtools.fake_model import USAGE as FAKE_USAGE
from devtools.fake_model import text, tool
from devtools.pi_runtime import ENTRYPOINT_LIB, MODEL, Runtime

PLACEHOLDER = "cloudagent-model-proxy"
PI_AI = "@mariozechner/pi-ai/dist/index.js"


def pi_table(runtime: Runtime, provider: str) -> dict:
    """{model id: {api, baseUrl, cost}} of one provider, from pi-ai itself."""
    script = (
        f"import('{runtime.pi_bin.parent / PI_AI}').then(m => console.log(JSON.stringify("
        f"Object.fromEntries(m.getModels('{provider}').map(x => [x.id, "
        "{api: x.api, baseUrl: x.baseUrl, cost: x.cost}])))))"
    )
    out = subprocess.run(
        ["node", "-e", script], env={"PATH": runtime.path}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def price(cost: dict, usage: dict) -> float:
    """pi-ai's calculateCost: dollars per million tokens of each kind."""
    return sum(cost[k] * usage[k] for k in ("input", "output", "cacheRead", "cacheWrite")) / 1e6


def call(proxy, path: str, body: dict, headers: dict | None = None, method: str = "POST"):
    """(status, raw body bytes) of one request to the proxy, sent as pi's SDKs send it."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=20)
    data = json.dumps(body).encode()
    conn.request(
        method,
        path,
        body=data if method == "POST" else None,
        headers={"content-type": "application/json", **(headers or {})},
    )
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, raw


@pytest.fixture
def upstreams():
    made: list[Upstream] = []

    def _make(provider: str) -> Upstream:
        up = Upstream(provider)
        made.append(up)
        return up

    yield _make
    for up in made:
        up.stop()


@pytest.fixture
def proxies(runtime):
    """``proxies(upstream, **kw)`` starts a proxy; afterwards none holds its key in its output."""
    made = []

    def _start(up: Upstream | None, **kw):
        provider = kw.pop("provider", up.provider if up else "openai")
        p = start_proxy(
            runtime,
            up.base_url if up else None,
            provider=provider,
            key_var=KEY_VARS[provider],
            **kw,
        )
        made.append(p)
        return p

    yield _start
    for p in made:
        kill(p)
        assert KEY not in "\n".join(p.lines) + "".join(p.stderr)


# --- forwarding and metering ------------------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False], ids=["sse", "json"])
@pytest.mark.parametrize("provider", list(CASES))
def test_forwards_unchanged_and_meters(runtime, upstreams, proxies, provider, stream):
    model, path, query = CASES[provider]
    up = upstreams(provider)
    proxy = proxies(up).wait_started()
    body = {"model": model, "stream": stream, "input": "hi"}
    if provider == "google":
        body = {"contents": [{"parts": [{"text": "hi"}]}]}
        path = path if stream else path.replace("streamGenerateContent", "generateContent")
    sent_creds = {
        "authorization": f"Bearer {PLACEHOLDER}",
        "x-api-key": PLACEHOLDER,
        "x-goog-api-key": PLACEHOLDER,
    }
    sep = "&" if (query if stream else "") else "?"
    full = f"{path}{query if stream else ''}{sep}key={PLACEHOLDER}"
    status, raw = call(proxy, full, body, sent_creds)
    assert status == 200, raw
    assert raw == up.sent[0]  # byte for byte, SSE included

    (req,) = up.requests
    assert req["path"].startswith(f"/base{path}") and "key=" not in req["path"]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    expected_header = {
        "anthropic": ("x-api-key", KEY),
        "google": ("x-goog-api-key", KEY),
    }.get(provider, ("authorization", f"Bearer {KEY}"))
    assert headers[expected_header[0]] == expected_header[1]
    assert PLACEHOLDER not in json.dumps(headers)
    assert {"authorization", "x-api-key", "x-goog-api-key"} & set(headers) == {expected_header[0]}
    if provider in ("xai", "openrouter") and stream:
        assert req["body"]["stream_options"] == {"include_usage": True}

    events = proxy.stop()
    usage = ANTHROPIC_USAGE if provider == "anthropic" else USAGE
    (line,) = [e for e in events if e["type"] == "model_usage"]
    assert (line["model"], line["status"]) == (model, 200)
    assert line["input_tokens"] == usage["input"] and line["output_tokens"] == usage["output"]
    assert line["cache_read_tokens"] == usage["cacheRead"]
    assert line["cache_write_tokens"] == usage["cacheWrite"]
    expected = price(pi_table(runtime, provider)[model]["cost"], usage)
    assert line["cost_usd"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert events[-1]["type"] == "proxy_end" and proxy.proc.returncode == 0
    assert events[-1]["usage"] == line["total"] and events[-1]["budget_exceeded"] is False


def test_upstream_error_passes_through_at_no_cost(upstreams, proxies):
    up = upstreams("openai")
    up.status = 401
    proxy = proxies(up).wait_started()
    status, raw = call(proxy, "/responses", {"model": "gpt-4o-mini", "stream": True})
    assert status == 401 and raw == up.sent[0]
    (line,) = [e for e in proxy.stop() if e["type"] == "model_usage"]
    assert line["status"] == 401 and line["cost_usd"] == 0


def test_health_is_answered_locally(upstreams, proxies):
    up = upstreams("openai")
    proxy = proxies(up).wait_started()
    status, raw = call(proxy, "/__cloudagent/health", {}, method="GET")
    assert (status, json.loads(raw)) == (200, {"ok": True})
    assert up.requests == []


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [("GET", "/models", 405), ("POST", "/files", 404), ("POST", "/responses/../admin", 404)],
)
def test_only_model_calls_are_forwarded(upstreams, proxies, method, path, code):
    up = upstreams("openai")
    proxy = proxies(up).wait_started()
    status, raw = call(proxy, path, {"model": "gpt-4o-mini"}, method=method)
    assert status == code and b"cloudagent:" in raw
    assert up.requests == []


@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-99-nope"), ("openrouter", "auto")])
def test_unpriced_model_is_refused(upstreams, proxies, provider, model):
    """No price in pi's table (or a zero one for a router): 400, nothing forwarded."""
    up = upstreams(provider)
    proxy = proxies(up).wait_started()
    path = CASES[provider][1]
    status, raw = call(proxy, path, {"model": model, "stream": True})
    assert status == 400
    assert "has no price" in raw.decode() or "is not in pi's price table" in raw.decode()
    assert up.requests == []


# --- the cap ------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google", "xai"])
def test_cap_refuses_after_the_call_that_crosses_it(runtime, upstreams, proxies, provider):
    """Cap at 1.5 calls: calls 1 and 2 go out (2 crosses it), 3 and 4 get 402 in the
    provider's error shape; one budget_exceeded line; proxy_end says so."""
    model, path, query = CASES[provider]
    usage = ANTHROPIC_USAGE if provider == "anthropic" else USAGE
    one = price(pi_table(runtime, provider)[model]["cost"], usage)
    up = upstreams(provider)
    proxy = proxies(up, cap=f"{one * 1.5:.12f}").wait_started()
    body = {"model": model, "stream": True}
    results = [call(proxy, path + query, body) for _ in range(4)]
    assert [s for s, _ in results] == [200, 200, 402, 402]
    assert len(up.requests) == 2  # overspend: at most the one call that crossed the cap
    refusal = json.loads(results[2][1])
    message = (refusal.get("error") or {}).get("message", "")
    assert message.startswith("cloudagent: this run's model spend cap")
    events = proxy.stop()
    (budget,) = [e for e in events if e["type"] == "budget_exceeded"]
    assert budget["total_cost_usd"] == pytest.approx(2 * one) and budget["max_cost_usd"] > 0
    end = events[-1]
    assert end["type"] == "proxy_end" and end["budget_exceeded"] is True
    assert end["usage"]["calls"] == 2 and end["usage"]["cost_usd"] == pytest.approx(2 * one)


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"MODEL_PROXY_PROVIDER": "bedrock"}, "unknown MODEL_PROXY_PROVIDER"),
        ({"OPENAI_API_KEY": ""}, "OPENAI_API_KEY is missing"),
        ({"OPENAI_API_KEY": "cloudagent:not-set"}, "holds the placeholder"),
        ({"MODEL_PROXY_MAX_COST_USD": ""}, "MODEL_PROXY_MAX_COST_USD is not set"),
        ({"MODEL_PROXY_MAX_COST_USD": "0"}, "positive decimal"),
        ({"MODEL_PROXY_MAX_COST_USD": "-1"}, "positive decimal"),
        ({"MODEL_PROXY_MAX_COST_USD": "ten"}, "positive decimal"),
        ({"MODEL_PROXY_PORT": "99999"}, "MODEL_PROXY_PORT"),
        ({"MODEL_PROXY_UPSTREAM": "http://api.openai.com/v1"}, "must be an https:// URL"),
        ({"MODEL_PROXY_ALLOW_LOCAL_UPSTREAM": None}, "allowed only to 127.0.0.1"),
        ({"MODEL_PROXY_UPSTREAM": "https://u:p@api.openai.com/v1"}, "plain base URL"),
    ],
)
def test_bad_config_exits_2(runtime, env, needle):
    p = start_proxy(runtime, "http://127.0.0.1:9/v1", **env)
    assert p.finish() == 2
    (line,) = p.events
    assert line["type"] == "proxy_error" and needle in line["error"], line
    assert KEY not in "\n".join(p.lines) + "".join(p.stderr)


def test_key_is_not_on_the_command_line(upstreams, proxies):
    proxy = proxies(upstreams("openai")).wait_started()
    cmdline = Path(f"/proc/{proxy.proc.pid}/cmdline").read_bytes()
    assert KEY.encode() not in cmdline


def test_provider_table_matches_pi(runtime):
    """Each provider's upstream and wire format in lib/constants.js are pi-ai's own."""
    source = (ENTRYPOINT_LIB / "constants.js").read_text()
    for provider in CASES:
        table = pi_table(runtime, provider)
        assert {m["api"] for m in table.values()} == {_field(source, provider, "api")}
        assert {m["baseUrl"] for m in table.values()} == {_field(source, provider, "upstream")}


def _field(source: str, provider: str, name: str) -> str:
    import re

    block = re.search(rf"\n  {provider}: \{{(.*?)\}}", source, re.DOTALL)
    assert block, provider
    m = re.search(rf'{name}: "([^"]+)"', block.group(1))
    assert m, (provider, name)
    return m.group(1)


# --- end to end: real pi -> entrypoint -> proxy -> fake model ----------------------------------


def fake_call_usage() -> dict:
    cached = FAKE_USAGE["input_tokens_details"]["cached_tokens"]
    return {
        "input": FAKE_USAGE["input_tokens"] - cached,
        "output": FAKE_USAGE["output_tokens"],
        "cacheRead": cached,
        "cacheWrite": 0,
    }


def test_run_usage_is_the_proxys_and_priced_by_pi(runtime, entrypoint, fake, proxy):
    fake.reset(tool("bash", {"command": "true"}), text("done"))
    run = entrypoint().wait()
    assert run.returncode == 0, run.stderr
    events = proxy.stop()
    calls = [e for e in events if e["type"] == "model_usage"]
    assert len(calls) == 2 == len(fake.requests)
    one = price(pi_table(runtime, "openai")[MODEL]["cost"], fake_call_usage())
    assert events[-1]["usage"]["cost_usd"] == pytest.approx(2 * one)
    # pi's own estimate agrees with the meter (now reported as the agent's view)
    assert run.end()["result"]["usage"]["cost_usd"] == pytest.approx(2 * one)


def test_tiny_cap_ends_the_run_within_one_call(runtime, agent_env, fake, tmp_path):
    """The first call crosses the cap; the next is refused, pi stops at once (no retry of a
    402), the run exits 1 with stopReason error and still writes its result."""
    p = start_proxy(runtime, fake.base_url, cap="0.000001", run_id="tiny").wait_started()
    try:
        fake.reset(tool("bash", {"command": "echo work > w.txt"}), text("never"))
        run = start({**agent_env, "AGENT_MODEL_PROXY_URL": p.url}, tmp_path / "workspace").wait()
        assert run.returncode == 1, run.stderr
        end = run.end()
        assert end["stop_reason"] == "error"
        assert "cloudagent: this run's model spend cap" in end["reason"]
        assert end["result"]["tool_calls"] == 1
        assert len(fake.requests) == 1  # the refused call never reached the model
        assert (tmp_path / "workspace" / "w.txt").read_text() == "work\n"
        events = p.stop()
        assert [e["type"] for e in events].count("budget_exceeded") == 1
        assert events[-1]["budget_exceeded"] is True and events[-1]["usage"]["calls"] == 1
    finally:
        kill(p)
