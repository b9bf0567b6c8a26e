"""The local AWS server: ``LocalAwsApp`` (``localaws.app``) served over real HTTP.

boto3 reaches it through ``AWS_ENDPOINT_URL`` like any AWS endpoint, so the dashboard, its
Celery workers and the tests talk to it exactly as they would to AWS. This module owns the
server's life: bind a port (``0`` picks a free one), serve in a thread, start background
state saving, and on stop shut down and write the final snapshot. What a request gets is
``localaws.app``'s business.
"""

from __future__ import annotations

import threading
from pathlib import Path

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import BaseWSGIServer, make_server

from localaws.app import LocalAwsApp, build_app

__all__ = ["LocalAwsApp", "LocalAwsServer", "build_app"]


class _RequestHandler(MotoRequestHandler):
    """Moto's handler (keeps underscore headers) minus a log line per request."""

    verbose = False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.verbose:
            super().log_request(code, size)


class _VerboseRequestHandler(_RequestHandler):
    verbose = True


class LocalAwsServer:
    """Threaded HTTP server around ``LocalAwsApp`` (like moto's ThreadedMotoServer).

    ``port=0`` picks a free port; ``endpoint_url`` reports the real one.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: Path | None = None,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.state_file = state_file
        self.verbose = verbose
        self.app: LocalAwsApp | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalAwsServer is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> None:
        """Bind (the socket accepts connections when this returns) and serve in a thread."""
        self.app = build_app(self.state_file)
        handler = _VerboseRequestHandler if self.verbose else _RequestHandler
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=handler
        )
        if self.app.state is not None:
            self.app.state.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="localaws-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, then write the final state snapshot."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self.app is not None:
            self.app.gateway.flush_metrics()  # this minute's metrics, into the final snapshot
            if self.app.state is not None:
                self.app.state.stop()
        self._server = None
        self._thread = None
