"""The demo's live traffic: who is sent over the throttle and into the quota (from a fixed seed),
and the loop's bounds and counts against a fake gateway on a fake clock (no network)."""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
import signal
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from honcho.environ import parse_procfile

from demo.traffic import FORBIDDEN, OK, QUOTA, THROTTLED, Tally, TrafficLoop, classify
from demo.traffic_aws import AwsKeys, HttpSender
from demo.traffic_plan import (
    Address,
    Call,
    LiveKey,
    Role,
    Stream,
    assign_roles,
    period_left,
    plan_streams,
    planned_rate,
)
from localaws.server import LocalAwsServer

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = Address("api.tollgate.localhost:5000", "/v1", frozenset({"/forecast", "/status"}))
# The demo's tiers (seed_demo.TIERS) as their usage plans hold them.
FREE: dict[str, Any] = {"throttle_rate": 2.0, "throttle_burst": 5}
FREE |= {"quota_limit": 1000, "quota_period": "DAY"}
PREMIUM: dict[str, Any] = {"throttle_rate": 50.0, "throttle_burst": 100}
PREMIUM |= {"quota_limit": 100_000, "quota_period": "MONTH"}
ENTERPRISE = {**PREMIUM, "throttle_rate": 500.0, "throttle_burst": 1000, "quota_limit": 5_000_000}


def key(key_id: str, name: str, tier: dict[str, Any], left: int | None = None) -> LiveKey:
    return LiveKey(
        key_id=key_id,
        name=name,
        value=f"value-of-{key_id}-" + "x" * 20,
        enabled=True,
        address=DOMAIN,
        quota_remaining=left,
        **tier,
    )


# The demo's customers (demo/management/commands/seed_demo.py): Acme on Free, Globex on
# Premium, Initech on Enterprise; the quota left today as the simulated history leaves it.
DEMO_KEYS = [
    key("acme1", "production", FREE, left=640),
    key("acme2", "staging", FREE, left=910),
    key("acme3", "staging (rolled)", FREE, left=1000),
    key("acme4", "dave-laptop", FREE, left=820),
    key("glob1", "backend", PREMIUM, left=81_000),
    key("glob2", "mobile app", PREMIUM, left=95_000),
    key("glob3", "analytics", PREMIUM, left=99_000),
    key("glob4", "partner sandbox", PREMIUM, left=99_900),
    key("init1", "billing service", ENTERPRISE, left=4_200_000),
]


def roles_by_name(keys: Sequence[LiveKey], roles: dict[str, Role]) -> dict[str, Role]:
    return {k.name: roles[k.key_id] for k in keys}


def test_the_plan_sends_one_free_key_into_its_quota_and_two_over_their_throttle() -> None:
    roles = roles_by_name(DEMO_KEYS, assign_roles(DEMO_KEYS, seed=1))

    # The smallest quota is Free's 1,000 a day; of its keys, production has the least left.
    assert roles["production"] is Role.QUOTA
    bursty = sorted(name for name, role in roles.items() if role is Role.BURSTY)
    assert bursty == ["dave-laptop", "staging (rolled)"]  # seed 1: two of the three others
    assert [r for r in roles.values() if r is Role.QUOTA] == [Role.QUOTA]
    # Premium's and Enterprise's bursts (100, 1,000) are beyond the demo's bounds: steady.
    assert all(roles[k.name] is Role.STEADY for k in DEMO_KEYS if k.throttle_burst != 5)
    # Key order does not matter; another seed may pick other bursty keys, never the quota key.
    assert assign_roles(DEMO_KEYS[::-1], seed=1) == assign_roles(DEMO_KEYS, seed=1)
    other = roles_by_name(DEMO_KEYS, assign_roles(DEMO_KEYS, seed=2))
    assert other["production"] is Role.QUOTA


def test_the_streams_stay_within_each_throttle_but_for_the_bursts_and_within_the_budget() -> None:
    roles = assign_roles(DEMO_KEYS, seed=1)
    streams = {s.name: s for s in plan_streams(DEMO_KEYS, roles, seed=1, steady_budget=2.5)}
    by_key = {k.key_id: k for k in DEMO_KEYS}

    quota = streams["quota:acme1"]
    assert quota.regular and quota.rate == pytest.approx(1.8)  # 0.9 of Free's 2/s
    assert 640 / quota.rate < 6 * 60  # what is left today goes in about 6 minutes
    for name in ("bursty:acme3", "bursty:acme4"):
        assert streams[name].burst_size == 10 > FREE["throttle_burst"]
    steady = [s for s in streams.values() if s.role is Role.STEADY]
    assert len(steady) == 6
    for stream in steady:
        throttle = by_key[stream.key_id or ""].throttle_rate
        assert throttle is not None and 0 < stream.rate <= 0.4 * throttle
    assert sum(s.rate for s in steady) <= 2.5 + 1e-9
    noise = {s.role for s in streams.values() if s.key_id is None}
    assert noise == {Role.NO_KEY, Role.WRONG_KEY, Role.HEALTH}
    assert 2 < planned_rate(streams.values()) < 6  # well under the 15/s bound
    # Seeded: the same plan again.
    again = plan_streams(DEMO_KEYS, roles, seed=1, steady_budget=2.5)
    assert [(s.name, s.rate) for s in again] == [(s.name, s.rate) for s in streams.values()]


def test_a_refresh_keeps_the_roles_while_their_keys_are_there() -> None:
    first = assign_roles(DEMO_KEYS, seed=1)
    new_key = key("acme5", "a new key", FREE, left=0)  # would be the quota pick if it were new
    kept = assign_roles([*DEMO_KEYS, new_key], seed=1, kept=first)
    assert kept == {**first, "acme5": Role.STEADY}

    without_production = [k for k in DEMO_KEYS if k.name != "production"]
    moved = roles_by_name(without_production, assign_roles(without_production, 1, kept=first))
    assert moved["staging"] is Role.QUOTA  # the next Free key with the least left


def test_a_burst_goes_at_once() -> None:
    stream = Stream("bursty:k", Role.BURSTY, DOMAIN, rate=0.0, key_value="v", burst_size=4)
    stream.start(0.0)
    moments = []
    for _ in range(12):
        moments.append(stream.next_at)
        call = stream.call()
        assert call.host == DOMAIN.host and call.path.startswith("/v1/forecast")
    assert Counter(moments).most_common(3) == [(m, 4) for m in sorted(set(moments))][:3]


def test_answers_are_told_apart_as_api_gateway_words_them() -> None:
    assert classify(200, b'{"ok": true}') == OK
    assert classify(403, b'{"message":"Forbidden"}') == FORBIDDEN
    assert classify(429, b'{"message":"Too Many Requests"}') == THROTTLED
    assert classify(429, b'{"message":"Limit Exceeded"}') == QUOTA
    tally = Tally()
    for outcome in (OK, OK, QUOTA, "errors"):
        tally.add(outcome)
    assert tally.line(2.0) == (
        "sent 4 (2.0/s): 2xx 2, 403 0, 429 throttle 0, 429 quota 1, other 0, errors 1"
    )


# --- the loop, on a fake clock against a fake gateway ------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.001)


class FakeGateway:
    """API Gateway's answers, enough for the loop: token buckets, quotas, 403 for unknown keys."""

    def __init__(self, clock: FakeClock, keys: Sequence[LiveKey]) -> None:
        self.clock = clock
        self.keys = {k.value: k for k in keys if k.enabled}
        self.tokens = {k.value: float(k.throttle_burst or 0) for k in keys}
        self.at = {k.value: clock.now() for k in keys}
        self.left = {k.value: k.quota_remaining for k in keys}
        self.times: list[float] = []
        self.answers: Counter[tuple[str | None, str]] = Counter()  # (key id, outcome)
        self.down_until = 0.0

    def __call__(self, call: Call) -> tuple[int, bytes]:
        now = self.clock.now()
        if now < self.down_until:
            self.answers[(call.key_id, "errors")] += 1
            raise ConnectionRefusedError("connection refused")
        self.times.append(now)
        status, body = self.answer(call, now)
        self.answers[(call.key_id, classify(status, body))] += 1
        return status, body

    def answer(self, call: Call, now: float) -> tuple[int, bytes]:
        if call.path.endswith("/status"):
            return 200, b'{"status": "ok"}'
        found = self.keys.get(call.key or "")
        if found is None:
            return 403, b'{"message":"Forbidden"}'
        value = found.value
        elapsed = now - self.at[value]
        burst = float(found.throttle_burst or 0)
        self.tokens[value] = min(burst, self.tokens[value] + elapsed * (found.throttle_rate or 0))
        self.at[value] = now
        if self.tokens[value] < 1:
            return 429, b'{"message":"Too Many Requests"}'
        left = self.left[value]
        if left is not None and left <= 0:
            return 429, b'{"message":"Limit Exceeded"}'
        self.tokens[value] -= 1
        if left is not None:
            self.left[value] = left - 1
        return 200, b'{"ok": true}'


def run_loop(
    keys: Sequence[LiveKey], seconds: float, **options: Any
) -> tuple[FakeGateway, TrafficLoop, list[str]]:
    clock = FakeClock()
    gateway = FakeGateway(clock, keys)
    lines: list[str] = []
    loop = TrafficLoop(lambda: keys, gateway, clock=clock, log=lines.append, workers=0, **options)
    loop.run(duration=seconds)
    return gateway, loop, lines


def most_in_any_window(times: Sequence[float], width: float) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= width:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_the_demo_keys_get_throttled_and_run_into_the_quota_within_the_bound() -> None:
    keys = [
        k if k.name != "production" else dataclasses.replace(k, quota_remaining=200)
        for k in DEMO_KEYS
    ]
    gateway, loop, lines = run_loop(keys, seconds=600)

    sent = len(gateway.times)
    assert 1.5 * 600 < sent < 5 * 600  # about 2-3 requests/s
    assert most_in_any_window(gateway.times, 1.0) <= 2 * 15
    assert most_in_any_window(gateway.times, 10.0) <= 15 * 10 + 15
    answers = gateway.answers
    # The quota key used its 200 left (in about 2 minutes), then got "Limit Exceeded".
    assert answers[("acme1", OK)] == 200 and answers[("acme1", QUOTA)] > 50
    for bursty in ("acme3", "acme4"):  # each burst of 10: about 5 through, 5 refused
        assert answers[(bursty, THROTTLED)] >= 20  # a burst every 90-110 s, as their quota allows
        assert answers[(bursty, OK)] > answers[(bursty, THROTTLED)]
    for steady in ("acme2", "glob1", "glob2", "glob3", "glob4", "init1"):
        assert answers[(steady, OK)] > 30 and answers[(steady, THROTTLED)] <= 3
    assert answers[(None, FORBIDDEN)] > 20  # no key, or a made-up one
    # The loop's own count is the gateway's, and it says so once a minute.
    assert loop.total.sent == sent
    assert loop.total.counts[QUOTA] == sum(n for (_, o), n in answers.items() if o == QUOTA)
    summaries = [line for line in lines if line.startswith("last 60 s: sent")]
    assert len(summaries) == 9  # one a minute (the tenth falls on the end)
    counted = [int(re.findall(r"sent (\d+)", line)[0]) for line in summaries]
    assert sum(counted) <= sent and sum(counted) > sent * 0.85
    assert "used up in ~2 min" in lines[0]


def test_the_total_rate_is_bounded_however_many_keys_ask() -> None:
    keys = [key(f"k{n:03d}", f"key {n}", {**PREMIUM, "throttle_rate": 1000.0}) for n in range(60)]
    gateway, _, _ = run_loop(keys, seconds=120, max_rate=4.0, steady_budget=40.0)

    assert most_in_any_window(gateway.times, 10.0) <= 4 * 10 + 4
    assert len(gateway.times) > 4 * 120 * 0.9  # the bound, not the budget, holds it back


def test_a_key_that_stays_forbidden_is_tried_rarely() -> None:
    paused = dataclasses.replace(DEMO_KEYS[4], enabled=False)  # a paused Premium key
    gateway, loop, lines = run_loop([paused, *DEMO_KEYS[5:]], seconds=600, rest_after=20.0)

    refused = gateway.answers[(paused.key_id, FORBIDDEN)]
    # It is sent at its rate for 20 s, then once a minute.
    assert 0 < refused <= 20 * 2 + 10 + 2
    assert gateway.answers[(paused.key_id, OK)] == 0
    assert lines[-1].endswith("1 resting after 403s")


def test_an_outage_stops_the_sending_and_backs_off_until_it_is_over() -> None:
    clock = FakeClock()
    gateway = FakeGateway(clock, DEMO_KEYS)
    gateway.down_until = clock.now() + 120
    loop = TrafficLoop(lambda: DEMO_KEYS, gateway, clock=clock, log=lambda _: None, workers=0)
    loop.run(duration=240)

    errors = sum(n for (_, outcome), n in gateway.answers.items() if outcome == "errors")
    assert 4 <= errors <= 12  # 1, 2, 4, ... 30 s apart: not one per planned call
    after = [t for t in gateway.times if t >= gateway.down_until]
    assert len(after) > 100  # and it goes on once the gateway is back


def test_the_plan_survives_a_local_aws_that_cannot_be_read() -> None:
    answers = iter([DEMO_KEYS])

    def discover() -> Sequence[LiveKey]:
        found = next(answers, None)
        if found is None:
            raise OSError("connection refused")
        return found

    clock = FakeClock()
    gateway = FakeGateway(clock, DEMO_KEYS)
    lines: list[str] = []
    loop = TrafficLoop(discover, gateway, clock=clock, log=lines.append, workers=0)
    loop.run(duration=120)

    assert len(gateway.times) > 300  # it kept sending with the keys it had
    assert sum("cannot read the keys" in line for line in lines) == 1  # said once, not each try


def test_only_the_quota_key_runs_out_the_bursts_are_paced_to_last() -> None:
    gateway, loop, _ = run_loop(DEMO_KEYS, seconds=2 * 3600)

    ran_out = {key_id for (key_id, outcome), n in gateway.answers.items() if outcome == QUOTA}
    assert ran_out == {"acme1"}
    for bursty in ("acme3", "acme4"):  # still refused for going too fast, hours on
        late = gateway.answers[(bursty, THROTTLED)]
        assert late > 250
    assert loop.total.counts[THROTTLED] / loop.total.sent > 0.02


def test_quota_periods_start_again_as_the_local_aws_counts_them() -> None:
    now = datetime.datetime(2025, 3, 12, 18, 0, tzinfo=datetime.UTC)  # a Wednesday
    assert period_left("DAY", now) == 6 * 3600
    assert period_left("WEEK", now) == (3 * 24 + 6) * 3600  # the week starts on Sunday
    assert period_left("MONTH", now) == (19 * 24 + 6) * 3600
    assert period_left(None, now) is None


# --- through the local gateway -----------------------------------------------------------------


@pytest.mark.integration
def test_the_loop_sends_real_requests_that_the_local_gateway_meters(
    db: None, local_aws: LocalAwsServer, apigw: Any, demo_api: tuple[str, str]
) -> None:
    api_id, stage = demo_api
    plan = apigw.create_usage_plan(
        name="Free",
        apiStages=[{"apiId": api_id, "stage": stage}],
        throttle={"rateLimit": 2.0, "burstLimit": 5},
        quota={"limit": 1000, "period": "DAY"},
    )
    created = apigw.create_api_key(name="production", enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=created["id"], keyType="API_KEY")
    discover = AwsKeys(local_aws.endpoint_url, "us-east-1")
    (found,) = discover()
    assert found.value == created["value"] and found.quota_remaining == 1000
    lines: list[str] = []

    total = TrafficLoop(discover, HttpSender(local_aws.endpoint_url), log=lines.append).run(2.5)

    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    usage = apigw.get_usage(usagePlanId=plan["id"], startDate=today, endDate=today)
    used = usage["items"][created["id"]][0][0]
    assert used >= 2  # the key's calls reached the gateway, which counted them
    assert total.counts[OK] >= used and total.counts["errors"] == total.counts["other"] == 0
    assert "production (quota: 1000 of 1000/DAY left" in lines[0]


def test_the_demo_procfile_runs_the_traffic_restarted_alone_when_it_crashes() -> None:
    demo = dict(parse_procfile((ROOT / "Procfile").read_text()).processes)
    # It waits for seed_demo's data itself (demo_traffic), so it starts with the others.
    assert (
        demo["traffic"] == "exec python scripts/respawn.py traffic -- python manage.py demo_traffic"
    )


@pytest.mark.integration
def test_the_command_sends_until_its_time_is_up(
    db: None, local_aws: LocalAwsServer, apigw: Any, demo_api: tuple[str, str]
) -> None:
    api_id, stage = demo_api
    plan = apigw.create_usage_plan(name="Premium", apiStages=[{"apiId": api_id, "stage": stage}])
    created = apigw.create_api_key(name="backend", enabled=True)
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=created["id"], keyType="API_KEY")
    out = io.StringIO()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("demo_traffic", "--no-wait", "--duration", "1.5", stdout=out)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)

    lines = out.getvalue().splitlines()
    assert lines[0] == f"demo traffic: sending to {local_aws.endpoint_url}, at most 15 requests/s"
    assert "1 keys get traffic" in lines[1] and "backend (steady)" in lines[1]
    assert lines[-1].startswith("demo traffic: stopped; in all: sent ")
    assert ", errors 0" in lines[-1] and ", other 0" in lines[-1]
