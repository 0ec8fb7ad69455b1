"""Hostile HTTP requests against the real API server, beyond Schemathesis's schema-valid cases.

Hypothesis makes the paths (traversal, encoded and unknown segments), query strings (NaN,
infinity, huge and negative numbers, the token itself), headers (the token in the wrong
scheme, header or place) and bodies (invalid JSON, wrong types, huge numbers, NaN/Infinity,
negative quantities) of requests of any method. Whatever comes: never a server error, a
traceback or a secret in the answer; nothing but the public pages without the token; no command
carried out with a body or a parameter it would not read; and a refused request changes nothing.

Hypothesis is synchronous, so it runs in a worker thread with a blocking client while the
bot's loop serves; the bot's state is read on its loop."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SECRET_KEY, TOKEN, Served

EXAMPLES = 150
PUBLIC = ("/", "/openapi.json")  # and /static/*: the dashboard page, which asks for the token
READS = "status balance positions candles orders trades equity performance logs config tasks"
COMMANDS = "pause resume closeall close/SYN-USD close/NOPE-USD"
ROUTES = [("GET", f"/api/v1/{r}") for r in [*READS.split(), "events"]] + [
    ("POST", f"/api/v1/{c}") for c in COMMANDS.split()
]
NUMBERS = "NaN nan Infinity -Infinity inf 1e309 -1 0 1.5 0x10 ١٢ null true [1]"


def basic(secret: str) -> str:
    return base64.b64encode(secret.encode()).decode()


# (headers, whether they carry the token as the API asks)
CREDENTIALS: list[tuple[dict[str, str], bool]] = [
    ({}, False),
    ({"Authorization": f"Bearer {TOKEN}"}, True),
    ({"Authorization": f"bearer {TOKEN}"}, True),  # schemes are case-insensitive (RFC 9110)
    ({"Authorization": f"Basic {basic(TOKEN)}"}, False),
    ({"Authorization": f"Basic {basic('user:' + TOKEN)}"}, False),
    ({"Authorization": f"Token {TOKEN}"}, False),
    ({"Authorization": TOKEN}, False),
    ({"Authorization": f"Bearer {TOKEN}x"}, False),
    ({"Authorization": f"Bearer {TOKEN[:-1]}"}, False),
    ({"Authorization": f"Bearer {TOKEN} {TOKEN}"}, False),
    ({"Authorization": f"Bearer {TOKEN.upper()}"}, False),
    ({"Authorization": "Bearer"}, False),
    ({"X-Api-Key": TOKEN}, False),
    ({"Cookie": f"token={TOKEN}"}, False),
]
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
    str.strip  # as HTTP sends header values
)
credentials = (
    st.just(CREDENTIALS[1])  # often the right token: the routes' own checks are fuzzed too
    | st.sampled_from(CREDENTIALS)
    | printable.map(lambda v: ({"Authorization": v}, False))
)
extra_headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Accept", "X-Forwarded-For", "Origin", "Range", "Expect"]),
    printable,
    max_size=2,
)
SEGMENTS = ".. %2e%2e %2F %00 %ff ~root .env api_token bot.sqlite static index.html metrics"
segments = st.sampled_from([*SEGMENTS.split(), *READS.split(), *COMMANDS.split()]) | st.text(
    max_size=16
).map(lambda s: quote(s, safe=""))
paths = st.sampled_from(
    [path for _, path in ROUTES] + ["/", "/metrics", "/openapi.json", "/static/dashboard.js"]
) | st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    st.sampled_from(["/", "/api/v1/", "/api/", "/static/", "/api/v1/close/", "//"]),
    st.lists(segments, max_size=4),
)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
targets = (  # (method, path)
    st.sampled_from(ROUTES) | st.sampled_from(ROUTES[-5:]) | st.tuples(methods, paths)
)
KEYS = "limit offset since days lines token access_token qty symbol"
keys = st.sampled_from(KEYS.split()) | st.text(min_size=1, max_size=8)
queries = st.lists(
    st.tuples(keys, st.sampled_from([*NUMBERS.split(), "", TOKEN]) | st.text()), max_size=3
)
json_numbers = st.sampled_from([-1, 0, -0.0, 1e308, 10**30, "NaN", "Infinity", "-1"]) | st.floats()
json_values = st.recursive(
    st.none() | st.booleans() | json_numbers | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
orders = st.fixed_dictionaries(
    {}, optional={"qty": json_numbers, "price": json_numbers, "symbol": st.text(max_size=10)}
)
bodies = (
    st.none()
    | st.binary(max_size=64)  # not JSON at all
    | (orders | json_values).map(lambda v: json.dumps(v).encode())  # NaN and Infinity too
)


@dataclass(frozen=True)
class Hostile:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    authorized: bool
    body: bytes | None


hostile = st.builds(
    lambda target, query, creds, extra, body: Hostile(
        *target, query, {**extra, **creds[0]}, creds[1], body
    ),
    targets,
    st.none().map(lambda _: []) | queries,  # mostly none
    credentials,
    extra_headers,
    st.none() | bodies,  # mostly none
)


@dataclass(frozen=True)
class Answer:
    status: int
    kind: str  # content type
    text: str  # none for an event stream, which never ends
    public: bool  # the path the server saw is a public page


def send(client: httpx.Client, base: str, request: Hostile) -> Answer:
    url = base + request.path + (f"?{urlencode(request.query)}" if request.query else "")
    with client.stream(
        request.method, url, headers=request.headers, content=request.body
    ) as response:
        kind = response.headers.get("content-type", "")
        stream = kind.startswith("text/event-stream")
        text = "" if stream else response.read().decode("utf-8", "replace")
        # as sent (httpx resolves dot segments) and as the server decodes it
        path = unquote(response.request.url.raw_path.decode().partition("?")[0])
        public = path in PUBLIC or path.startswith("/static/")
        return Answer(response.status_code, kind, text, public)


def fuzz(run: Served, loop: asyncio.AbstractEventLoop) -> int:
    """Plays the examples; returns how many were answered."""
    answered = 0

    async def books() -> tuple[Any, ...]:
        app = run.app
        risk, portfolio, execution = (
            app.pipeline.risk,
            app.pipeline.portfolio,
            app.pipeline.execution,
        )
        orders = tuple(sorted(o.client_order_id for o in execution.open_orders()))
        return (
            risk.paused,
            risk.pause_reason,
            portfolio.open_position_count(),
            orders,
            app.stop_requested.is_set(),
        )

    def state() -> tuple[Any, ...]:
        return asyncio.run_coroutine_threadsafe(books(), loop).result(timeout=10)

    client = httpx.Client(timeout=10)
    base = str(run.client.base_url).rstrip("/")

    @given(hostile)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(request: Hostile) -> None:
        nonlocal answered
        before = state()
        answer = send(client, base, request)
        answered += 1
        status, text = answer.status, answer.text
        assert status < 500, (status, text)
        assert "Traceback" not in text and 'File "' not in text
        assert TOKEN not in text and SECRET_KEY not in text
        if answer.kind.startswith("text/event-stream"):
            assert request.authorized
        if status < 300 and not answer.public:
            assert request.authorized, (status, text[:200])
        if not request.authorized and not answer.public:
            assert status in (400, 401, 404, 405) or 300 <= status < 400, (status, text[:200])
        if status < 300 and request.method == "POST":  # a command was carried out
            assert not request.body and not request.query
        if status >= 400:
            assert state() == before, (status, text[:200])
        if answer.kind.startswith("application/json") and status >= 400 and text:
            assert set(json.loads(text)) == {"error"}

    with client:
        check()
    return answered


async def test_hostile_requests_never_fail_leak_or_act_unauthorized(finished: Served) -> None:
    answered = await asyncio.to_thread(fuzz, finished, asyncio.get_running_loop())
    assert answered >= EXAMPLES
    assert not finished.bot_task.done()


BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "-1", "1.5", "9" * 30, ""]
NUMERIC = [
    ("trades", "limit"),
    ("trades", "offset"),
    ("equity", "since"),
    ("equity", "limit"),
    ("performance", "days"),
    ("logs", "lines"),
]


async def test_impossible_numbers_in_parameters_are_refused_naming_the_parameter(
    finished: Served,
) -> None:
    for route, name in NUMERIC:
        for value in BAD_NUMBERS:
            response = await finished.client.get(f"/api/v1/{route}", params={name: value})
            assert response.status_code == 422, (route, name, value)
            assert f"query parameter {name}:" in response.json()["error"]


async def test_a_command_with_a_body_or_parameters_is_refused_and_changes_nothing(
    holding: Served,
) -> None:
    client, app = holding.client, holding.app
    portfolio, risk = app.pipeline.portfolio, app.pipeline.risk
    await holding.until(lambda: portfolio.open_position_count() == 1)
    refused = [
        ("/api/v1/close/SYN-USD", {"json": {"qty": -1}}),
        ("/api/v1/close/SYN-USD", {"json": {"qty": "NaN"}}),
        ("/api/v1/close/SYN-USD", {"content": b'{"qty": Infinity}'}),
        ("/api/v1/close/SYN-USD", {"content": b"not json"}),
        ("/api/v1/close/SYN-USD", {"params": {"qty": "0.5"}}),
        ("/api/v1/closeall", {"json": {"symbol": "SYN/USD"}}),
        ("/api/v1/pause", {"json": {}}),
        ("/api/v1/pause", {"params": {"minutes": "5"}}),
    ]
    for path, extra in refused:
        response = await client.post(path, **extra)
        assert response.status_code == 422, (path, extra, response.text)
        assert "this command takes no" in response.json()["error"]
    assert not risk.paused and portfolio.open_position_count() == 1
    assert app.pipeline.execution.open_orders() == []  # no exit was asked
    assert (await client.post("/api/v1/pause")).status_code == 200  # the same, bare, works
    assert (await client.post("/api/v1/close/SYN-USD")).status_code == 200
    await holding.until(lambda: portfolio.open_position_count() == 0)
