"""Moments as CloudWatch's wire carries them and as the metric index stores them.

The wire (awsJson1.0) carries epoch seconds or ISO 8601 strings; moto stores naive or aware
datetimes. The index keeps exact integer microseconds since the epoch (UTC), so bucketing and
bisecting never meet float rounding or a timezone.
"""

from __future__ import annotations

import datetime
from typing import Any

_EPOCH = datetime.datetime(1970, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)


def naive_utc(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment


def parse_time(raw: Any) -> datetime.datetime:
    if isinstance(raw, int | float):
        return datetime.datetime.fromtimestamp(raw, datetime.UTC).replace(tzinfo=None)
    return naive_utc(datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00")))


def epoch(moment: datetime.datetime) -> int | float:
    seconds = moment.replace(tzinfo=datetime.UTC).timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def micros(moment: datetime.datetime) -> int:
    """Microseconds since the epoch (UTC), exact."""
    return (naive_utc(moment) - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=micros)
