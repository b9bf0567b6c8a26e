"""``python -m localaws``: run the local AWS server in the foreground.

Prints exactly one line on stdout, ``localaws ready on http://HOST:PORT``, once the
socket accepts connections (and the demo API exists, with ``--demo-api``), so scripts
can wait for it. SIGINT/SIGTERM stop it cleanly and save ``--state``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import boto3

from localaws.demo_api import ensure_demo_api
from localaws.server import LocalAwsServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--state", type=Path, help="pickle file to load and save state")
    parser.add_argument(
        "--demo-api", action="store_true", help="create the Tollgate Demo API if missing"
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
        help="region the demo API is created in (default: $AWS_DEFAULT_REGION or us-east-1)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)

    server = LocalAwsServer(args.host, args.port, state_file=args.state, verbose=args.verbose)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    server.start()
    try:
        if args.demo_api:
            client = boto3.client(
                "apigateway",
                region_name=args.region,
                endpoint_url=server.endpoint_url,
                aws_access_key_id="localaws",
                aws_secret_access_key="localaws",
            )
            api_id, stage = ensure_demo_api(client)
            print(f"localaws: demo API {api_id} stage {stage} ({args.region})", file=sys.stderr)
        print(f"localaws ready on {server.endpoint_url}", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
