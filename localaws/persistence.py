"""Keep moto's API Gateway and CloudWatch state across restarts (``--state PATH``).

Moto keeps everything in memory; ``make demo`` must survive a restart without the
dashboard's database pointing at usage plans and keys that no longer exist.

How: the ``__dict__`` of every materialised per-account/per-region backend of
``apigateway_backends`` and ``cloudwatch_backends`` (and per-account/per-partition backend
of ``iam_backends`` and ``sts_backends``) is pickled to ``PATH`` (temp file +
``os.replace``, so a crash never leaves a torn file). Saves happen at most once a second
from a background thread after mutating requests, and once more on shutdown. On start
the dicts are poured back into freshly created backends.

Limits:
* Only API Gateway, CloudWatch, IAM and STS are persisted, plus localaws' own API Gateway
  usage store (``localaws.usage``: GetUsage counters, UpdateUsage extensions); other moto
  services start empty. IAM and STS are kept because they decide the account of a request:
  credentials handed out by AssumeRole before a restart must still reach the role's account
  after it (a key moto forgot would silently land in the default account). Snapshots
  without a usage store (older files) load with none.
* A pickle is tied to the moto version that wrote it (the classes are moto's). A file
  written by another moto version is ignored with a warning and the server starts empty.
* ``localaws.metrics``' GetMetricData index is not saved: it is derived from CloudWatch's
  datapoints and rebuilt from them on load.
* Writes in the last second before a hard kill (SIGKILL) are lost; SIGINT/SIGTERM save.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import moto
from moto.apigateway.models import apigateway_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from localaws import metrics
from localaws.usage import usage_store

_BACKENDS: dict[str, Any] = {
    "apigateway": apigateway_backends,
    "cloudwatch": cloudwatch_backends,
    "iam": iam_backends,
    "sts": sts_backends,
}
_FORMAT = 1
SAVE_INTERVAL_SECONDS = 1.0
# What the data plane meters (usage counters, metrics) is saved at most this often: a steady
# stream of requests would otherwise rewrite the whole snapshot every second. A hard kill loses
# at most this much metering; management writes are still saved within a second.
METERED_SAVE_INTERVAL_SECONDS = 15.0


class StateStore:
    """Debounced, atomic pickle snapshots of moto's backends.

    ``lock`` must be held by whoever mutates moto state; snapshots take it too, so a
    pickle never sees a half-applied write.
    """

    def __init__(self, path: Path, lock: threading.RLock) -> None:
        self.path = path
        self._lock = lock
        self._dirty = threading.Event()
        self._metered = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> bool:
        """Restore a previous snapshot; False when there is none usable."""
        if not self.path.exists():
            return False
        try:
            with self.path.open("rb") as fh:
                snapshot = pickle.load(fh)
        except Exception as exc:  # a torn or foreign file must not stop the server
            print(f"localaws: ignoring unreadable state {self.path}: {exc}", file=sys.stderr)
            return False
        if snapshot.get("format") != _FORMAT or snapshot.get("moto") != moto.__version__:
            print(
                f"localaws: ignoring state {self.path} written by moto "
                f"{snapshot.get('moto')} (running {moto.__version__})",
                file=sys.stderr,
            )
            return False
        with self._lock:
            for service, accounts in snapshot["backends"].items():
                backends = _BACKENDS[service]
                for account_id, regions in accounts.items():
                    for region, state in regions.items():
                        backends[account_id][region].__dict__.update(state)
            usage_store.restore(snapshot.get("usage") or {})
            # Index the restored datapoints now rather than at the first GetMetricData.
            for account_id, regions in snapshot["backends"].get("cloudwatch", {}).items():
                for region in regions:
                    metrics.refresh(account_id, region)
        return True

    def save(self) -> None:
        """Write a snapshot now (atomically)."""
        with self._lock:
            self._dirty.clear()
            self._metered = False
            data = pickle.dumps(
                {
                    "format": _FORMAT,
                    "moto": moto.__version__,
                    "backends": {
                        service: {
                            account_id: {
                                region: backend.__dict__
                                for region, backend in list(regions.items())
                            }
                            for account_id, regions in list(backends.items())
                        }
                        for service, backends in _BACKENDS.items()
                    },
                    "usage": usage_store.snapshot(),
                }
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise

    def mark_dirty(self) -> None:
        self._dirty.set()

    def mark_metered(self) -> None:
        """Metering changed: save with the next management change, or within
        METERED_SAVE_INTERVAL_SECONDS."""
        self._metered = True

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="localaws-state", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background saver and write a final snapshot."""
        self._stopping.set()
        self._dirty.set()  # wake the saver
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.save()

    def _run(self) -> None:
        while not self._stopping.is_set():
            changed = self._dirty.wait(timeout=METERED_SAVE_INTERVAL_SECONDS)
            if self._stopping.is_set():
                return
            if changed or self._metered:
                self.save()
            self._stopping.wait(SAVE_INTERVAL_SECONDS)
