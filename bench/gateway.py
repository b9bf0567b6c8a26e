"""Requests per second through the local gateway (localaws.gateway, issue 15).

Every request is a keyed GET through a usage plan (throttle set out of the way, so every
answer is a 200) to a MOCK integration - the whole path: address, key and plan look-up,
throttle buckets at three levels, usage counting, MOCK answer, CloudWatch metering.

* over HTTP, to ``python -m localaws`` in its own process (so the client's threads do not
  share the server's GIL): sequential, then N concurrent client threads;
* the gateway alone, in-process: ``Gateway.answer`` on a ready WSGI environ (no HTTP, no
  socket; 5x the requests, for a steadier figure), which shows what the gateway costs
  against what werkzeug's server costs;

each with 1 API key in the account and with ``--keys`` keys (imported with ImportApiKeys
into the same plan), to show the look-ups do not grow with the number of keys.

    .venv/bin/python bench/gateway.py [--requests 2000] [--threads 1,4,16] [--keys 10000]

Prints figures; asserts only that every answer was a 200.
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from localaws.testing import start_local_aws  # noqa: E402

REGION = "us-east-1"
WARM_UP = 50


def apigateway(endpoint_url: str) -> Any:
    return boto3.client(
        "apigateway",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def set_up(endpoint_url: str, extra_keys: int) -> tuple[str, str]:
    """A deployed MOCK API, a plan without effective limits and its key(s): (path, key)."""
    client = apigateway(endpoint_url)
    api_id = client.create_rest_api(name="Bench")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    resource = client.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    where = {"restApiId": api_id, "resourceId": resource, "httpMethod": "GET"}
    client.put_method(**where, authorizationType="NONE", apiKeyRequired=True)
    client.put_integration(
        **where, type="MOCK", requestTemplates={"application/json": '{"statusCode": 200}'}
    )
    client.put_method_response(**where, statusCode="200")
    client.put_integration_response(
        **where, statusCode="200", responseTemplates={"application/json": '{"items": []}'}
    )
    client.create_deployment(restApiId=api_id, stageName="prod")
    plan = client.create_usage_plan(
        name="bench",
        apiStages=[{"apiId": api_id, "stage": "prod"}],
        throttle={"rateLimit": 1_000_000.0, "burstLimit": 1_000_000},
    )["id"]
    key = client.create_api_key(name="bench", enabled=True)
    client.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
    if extra_keys:
        rows = "".join(f"k{i},bench-key-{i:06d}-padding,true,{plan}\n" for i in range(extra_keys))
        for first in range(0, extra_keys, 1000):
            chunk = rows.splitlines(keepends=True)[first : first + 1000]
            client.import_api_keys(
                body=("Name,Key,Enabled,UsagePlanIds\n" + "".join(chunk)).encode(), format="csv"
            )
    return f"/restapis/{api_id}/prod/_user_request_/items", str(key["value"])


def call(host: str, port: int, path: str, key: str) -> int:
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", path, headers={"x-api-key": key})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def over_http(endpoint_url: str, path: str, key: str, requests: int, threads: int) -> float:
    parsed = urllib.parse.urlsplit(endpoint_url)
    host, port = str(parsed.hostname), int(parsed.port or 80)
    for _ in range(WARM_UP):
        call(host, port, path, key)
    started = time.perf_counter()
    if threads == 1:
        statuses = [call(host, port, path, key) for _ in range(requests)]
    else:
        with ThreadPoolExecutor(threads) as pool:
            statuses = list(pool.map(lambda _: call(host, port, path, key), range(requests)))
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, sorted(set(statuses))
    return requests / elapsed


def in_process(extra_keys: int, requests: int) -> float:
    server = start_local_aws()
    try:
        path, key = set_up(server.endpoint_url, extra_keys)
        assert server.app is not None
        gateway = server.app.gateway
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_X_API_KEY": key,
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(b""),
        }
        for _ in range(WARM_UP):
            gateway.answer(dict(environ), b"")
        started = time.perf_counter()
        statuses = [gateway.answer(dict(environ), b"") for _ in range(requests)]
        elapsed = time.perf_counter() - started
        assert {s.status_code for s in statuses if s is not None} == {200}
        return requests / elapsed
    finally:
        server.stop()


def start_server() -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    process = subprocess.Popen(
        [sys.executable, "-m", "localaws", "--port", "0"],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("localaws ready on "):
        process.kill()
        raise RuntimeError(f"localaws did not start: {line!r}")
    return process, line.removeprefix("localaws ready on ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--keys", type=int, default=10_000, help="keys in the account, 2nd run")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    print(f"{args.requests} keyed requests per figure, MOCK integration, {os.cpu_count()} CPUs")
    for keys in (1, args.keys):
        process, endpoint_url = start_server()
        try:
            set_up_started = time.perf_counter()
            path, key = set_up(endpoint_url, keys - 1)
            set_up_seconds = time.perf_counter() - set_up_started
            figures = [
                f"{threads} thread{'s' if threads > 1 else ''}: "
                f"{over_http(endpoint_url, path, key, args.requests, threads):,.0f} req/s"
                for threads in thread_counts
            ]
        finally:
            process.terminate()
            process.wait(timeout=30)
        gateway_alone = in_process(keys - 1, 5 * args.requests)
        print(
            f"{keys:>6,} key(s): over HTTP {', '.join(figures)}; "
            f"gateway alone (in-process, no HTTP) {gateway_alone:,.0f} req/s "
            f"(set-up {set_up_seconds:.1f} s)"
        )


if __name__ == "__main__":
    main()
