"""The load run's traffic (bench/load_run.py starts it; locust is the load generator).

Two kinds of visitor, each signed in through a session bench/load_run.py made beforehand
(LOAD_SESSIONS: a JSON file of {"customers": [...], "staff": [...]} with each person's session
cookie and, for customers, their key ids), so the run measures Tollgate's pages rather than
allauth's sign-in throttle:

- a customer (4 in 5 visitors): their keys, a key's page, usage page and CSV, the REST key list
  and usage summary;
- an ops person (1 in 5): the console overview, the customer list (first page, a search, the
  next page), a customer's page, tiers, capacity, the ops metrics page, the REST customer list.

Every request is a GET a person makes; a response other than 200 is a failure (locust counts
it), so a 500, a redirect to the sign-in page or a 404 all show up as errors. Requests carry
`X-Forwarded-Proto: https`, as a TLS-terminating proxy in front of gunicorn would send.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

from locust import HttpUser, between, task

with open(os.environ["LOAD_SESSIONS"], encoding="utf-8") as _file:
    PEOPLE: dict[str, list[dict[str, Any]]] = json.load(_file)

SESSION_COOKIE = PEOPLE.get("cookie_name", "sessionid")


class SignedIn(HttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    kind = ""

    def on_start(self) -> None:
        self.person = random.choice(PEOPLE[self.kind])
        self.client.headers.update(
            {
                "Cookie": f"{SESSION_COOKIE}={self.person['session']}",
                "X-Forwarded-Proto": "https",
            }
        )

    def page(self, path: str, name: str | None = None) -> None:
        with self.client.get(
            path, name=name or path, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                # 0: no answer at all (the connection refused, reset or timed out)
                response.failure(f"HTTP {response.status_code} {response.error or ''}".strip())


class Customer(SignedIn):
    weight = 4
    kind = "customers"

    @task(4)
    def keys(self) -> None:
        self.page("/app/")

    @task(2)
    def key(self) -> None:
        self.page(f"/app/keys/{random.choice(self.person['keys'])}/", "/app/keys/[id]/")

    @task(4)
    def usage(self) -> None:
        self.page("/app/usage/")

    @task(1)
    def usage_csv(self) -> None:
        self.page("/app/usage.csv")

    @task(2)
    def api_keys(self) -> None:
        self.page("/api/v1/keys")

    @task(2)
    def api_usage(self) -> None:
        self.page("/api/v1/usage/summary")


class Ops(SignedIn):
    weight = 1
    kind = "staff"

    @task(3)
    def overview(self) -> None:
        self.page("/console/")

    @task(3)
    def customers(self) -> None:
        self.page("/console/customers/")

    @task(2)
    def customer_search(self) -> None:
        self.page(f"/console/customers/?q={random.randint(0, 9999):06d}", "/console/customers/?q=")

    @task(2)
    def customer(self) -> None:
        customer = random.choice(PEOPLE["customers"])["customer"]
        self.page(f"/console/customers/{customer}/", "/console/customers/[id]/")

    @task(1)
    def tiers(self) -> None:
        self.page("/console/tiers/")

    @task(1)
    def capacity(self) -> None:
        self.page("/console/capacity/")

    @task(2)
    def metrics(self) -> None:
        self.page("/console/metrics/")

    @task(1)
    def api_customers(self) -> None:
        self.page("/api/v1/customers")
