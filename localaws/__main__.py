"""``python -m localaws``: run the local AWS server in the foreground.

Prints exactly one line on stdout, ``localaws ready on http://HOST:PORT``, once the
socket accepts connections (and the demo estate exists, with ``--demo-api``: see
``localaws.demo_estate``), so scripts can wait for it. SIGINT/SIGTERM stop it cleanly and save ``--state``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from localaws.demo_estate import ensure_demo_estate
from localaws.server import LocalAwsServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0 picks a free port")
    parser.add_argument("--state", type=Path, help="pickle file to load and save state")
    parser.add_argument(
        "--demo-api",
        action="store_true",
        help="create the Tollgate Demo API in us-east-1 and eu-west-1 and in the partner "
        "account 222222222222 (role TollgateAccess, external id tollgate-partner) if missing",
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
            estate = ensure_demo_estate(server.endpoint_url)
            for d in estate.deployments:
                print(
                    f"localaws: demo API {d.rest_api_id} stage {d.stage_name} in account "
                    f"{d.account_id} {d.region}, at http://{d.domain}/v1",
                    file=sys.stderr,
                )
            print(
                f"localaws: partner account role {estate.role_arn} "
                f"(external id {estate.external_id})",
                file=sys.stderr,
            )
        print(f"localaws ready on {server.endpoint_url}", flush=True)
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
