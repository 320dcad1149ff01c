"""Property-based fuzzing of every operation, generated from the served OpenAPI document.

For each operation hypothesis draws schema-valid and malformed bodies (wrong types, extra and
missing fields, arbitrary JSON, raw bytes), path ids, query strings and headers. The property:
never a 5xx, always a JSON body, every error in the one error shape - and a schema-valid create
is accepted (or refused only for size or capacity, or for a continue_from run that does not
exist). Derandomized so CI runs are reproducible.
"""

from __future__ import annotations

import json
import string
import urllib.parse
from typing import Any

import pytest
from chalicelib.core import config as cfg
from chalicelib.http.openapi import document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.control_api import Env

DOC = document()
OPERATIONS = [
    (path, method, op)
    for path, ops in DOC["paths"].items()
    for method, op in ops.items()
    if path != "/v1/openapi.json"
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return DOC["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def matches(obj: dict[str, Any], branch: dict[str, Any]) -> bool:
    """The ``required`` / ``not`` / ``anyOf`` combinators the document uses on objects."""
    if "required" in branch and not all(k in obj for k in branch["required"]):
        return False
    if "not" in branch and matches(obj, branch["not"]):
        return False
    return "anyOf" not in branch or any(matches(obj, b) for b in branch["anyOf"])


def valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that satisfy the (small) JSON-Schema subset the document uses."""
    schema = resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "number":
        return st.floats(
            min_value=schema.get("minimum"),
            max_value=schema.get("maximum", 10**6),
            exclude_min=schema.get("exclusiveMinimum", False),
            allow_nan=False,
            allow_infinity=False,
        ) | st.integers(max(1, schema.get("minimum", 1)), 100)
    if kind == "string":
        if "pattern" in schema:
            strat = st.from_regex(schema["pattern"], fullmatch=True)
            return strat.filter(lambda s: len(s) <= schema.get("maxLength", 10**6))
        low = max(1, schema.get("minLength", 0))
        text = st.text(min_size=low, max_size=60).filter(lambda s: s.strip())
        big = st.integers(low, schema.get("maxLength", 100)).map(lambda n: "p" * n)
        return st.one_of(text, big)
    if kind == "array":
        return st.lists(
            valid(schema["items"]),
            min_size=schema.get("minItems", 0),
            max_size=schema.get("maxItems", 5),
            unique=schema.get("uniqueItems", False),
        )
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", [])
        optional = [k for k in props if k not in required]
        objects = st.fixed_dictionaries(
            {k: valid(props[k]) for k in required},
            optional={k: valid(props[k]) for k in optional},
        )
        if "anyOf" in schema:
            objects = objects.filter(lambda d: any(matches(d, b) for b in schema["anyOf"]))
        return objects
    return JSON_VALUES


def malformed(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Objects that break the schema in one way, or arbitrary JSON."""
    schema = resolve(schema)
    props = schema.get("properties", {})
    base = valid(schema)
    extra = st.tuples(base, st.text(min_size=1, max_size=12), JSON_VALUES).map(
        lambda t: {**t[0], t[1]: t[2]}
    )
    swapped = st.tuples(base, st.sampled_from(sorted(props)), JSON_VALUES).map(
        lambda t: {**t[0], t[1]: t[2]}
    )
    missing = st.tuples(base, st.sampled_from(sorted(props))).map(
        lambda t: {k: v for k, v in t[0].items() if k != t[1]}
    )
    return st.one_of(extra, swapped, missing, JSON_VALUES)


def request_strategy(path: str, method: str, op: dict[str, Any], token: str) -> Any:
    params = op.get("parameters", [])
    path_params = {p["name"]: p for p in params if p["in"] == "path"}
    query_names = [p["name"] for p in params if p["in"] == "query"]

    segments = {
        name: st.one_of(
            valid(p["schema"]),
            st.text(alphabet=string.printable + "é✓", min_size=1, max_size=40),
        ).map(lambda s: urllib.parse.quote(s, safe=""))
        for name, p in path_params.items()
    }
    query = st.dictionaries(
        st.one_of(st.sampled_from(query_names or ["x"]), st.text(min_size=1, max_size=8)),
        st.one_of(
            st.integers(-5, 200).map(str),
            st.text(max_size=40),
            st.from_regex(r"[A-Za-z0-9_-]{1,60}", fullmatch=True),
        ),
        max_size=3,
    )
    body_schema = (
        op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    )
    if body_schema:
        body = st.one_of(
            valid(body_schema).map(lambda b: ("valid", json.dumps(b).encode())),
            malformed(body_schema).map(lambda b: ("bad", json.dumps(b).encode())),
            st.binary(max_size=200).map(lambda b: ("bad", b)),
        )
    else:
        body = st.one_of(st.just(("none", b"")), st.binary(max_size=50).map(lambda b: ("bad", b)))
    auth = st.sampled_from(
        [f"Bearer {token}"] * 4 + [None, "Bearer x.y.z", "Basic Zm9v", f"Bearer {token}x"]
    )
    idem = st.one_of(
        st.none(), st.from_regex(r"[A-Za-z0-9._:-]{1,20}", fullmatch=True), st.text(max_size=20)
    )
    ctype = st.sampled_from(
        ["application/json"] * 4 + ["text/plain", "application/json; charset=utf-8"]
    )
    return st.fixed_dictionaries(
        {
            "segments": st.fixed_dictionaries(segments),
            "query": query,
            "body": body,
            "auth": auth,
            "idem": idem,
            "ctype": ctype,
        }
    )


def build(path: str, drawn: dict[str, Any]) -> tuple[str, dict[str, str], bytes, str]:
    url = path
    for name, value in drawn["segments"].items():
        url = url.replace("{" + name + "}", value)
    if drawn["query"]:
        url += "?" + urllib.parse.urlencode(drawn["query"])
    headers = {"Content-Type": drawn["ctype"]}
    if drawn["auth"] is not None:
        headers["Authorization"] = drawn["auth"]
    if drawn["idem"] is not None:
        headers["Idempotency-Key"] = drawn["idem"]
    kind, body = drawn["body"]
    return url, headers, body, kind


@pytest.mark.parametrize(
    ("path", "method", "op"), OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
def test_no_5xx_for_any_input(
    client: Any,
    api_env: Env,
    make_token: Any,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    method: str,
    op: dict[str, Any],
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_RUNS", "100")  # the setting's maximum
    cfg.reset()
    token = make_token(exp=2**31 - 1)

    @settings(
        max_examples=120 if method == "post" else 60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(drawn=request_strategy(path, method, op, token))
    def check(drawn: dict[str, Any]) -> None:
        url, headers, body, kind = build(path, drawn)
        resp = client.http.request(method.upper(), url, headers=headers, body=body)
        assert resp.status_code < 500, (url, headers, body, resp.body)
        if url.split("?")[0].count("/") != path.count("/"):
            return  # a quoted segment changed the route: the gateway answers, not the app
        data = json.loads(resp.body)
        if resp.status_code >= 400:
            assert set(data) == {"error"} and set(data["error"]) == {"code", "message"}
        clean = (
            kind == "valid"
            and headers.get("Authorization") == f"Bearer {token}"
            and headers["Content-Type"].startswith("application/json")
            and not drawn["query"]
            and (drawn["idem"] is None or (drawn["idem"].isascii() and drawn["idem"].strip()))
            and method == "post"
            and "{" not in path
        )
        if clean and resp.status_code == 400:
            # Only the Idempotency-Key may still be malformed for a schema-valid body, a
            # schema-valid repo or egress domain may be outside the deployment's allow-lists,
            # and a spend cap above its limit or below a micro-dollar.
            message = data["error"]["message"]
            settings = (
                "Idempotency-Key",
                "allowed_repos",
                "egress_run_domains_allowed",
                "max_run_cost_usd",
                "max_cost_usd must be a number of USD of at least",
            )
            assert any(s in message for s in settings), (body, data)
        elif clean and resp.status_code == 404:
            # A schema-valid continue_from names a run that does not exist here.
            assert b"continue_from" in body and "(continue_from)" in data["error"]["message"]
        elif clean:
            assert resp.status_code in (202, 409, 413, 429), (body, data)

    check()
