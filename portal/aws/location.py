"""Where an AWS call goes: one account (reached one way) in one region.

Tollgate keeps a copy of every tier and key in each account and region it covers. The code that
talks to AWS (this package) is written once, for "the current location": a caller says where
with `at(location)`, like Django's `translation.override`, and every client made inside —
API Gateway, CloudWatch, STS — uses that account's credentials and that region, and counts
against that account and region's rate budget (portal/aws/limiter.py). Outside any `at()`,
calls go to the process's own credential chain in settings.AWS_REGION, as before.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """An account and region: credentials come from the process's chain (blank `role_arn`) or
    from the role assumed from it. `connection_id` names the AwsConnection it came from (None:
    the settings' default, before any connection row exists)."""

    region: str
    role_arn: str = ""
    external_id: str = ""
    connection_id: int | None = None
    connection_name: str = ""
    account_id: str = ""

    @property
    def key(self) -> tuple[int | None, str]:
        """What copies are stored under: (connection id, region)."""
        return (self.connection_id, self.region)

    @property
    def budget_scope(self) -> str:
        """The rate budget it spends: AWS's quotas are per account and region. The process's
        own chain is one account (its region alone names it, as before connections existed);
        a role's account is in its ARN (arn:aws:iam::ACCOUNT:role/NAME)."""
        if not self.role_arn:
            return self.region
        account = self.role_arn.split(":")[4] if self.role_arn.count(":") >= 5 else self.role_arn
        return f"{account}/{self.region}"

    @property
    def label(self) -> str:
        """ "eu-west-1" or "Partner · us-east-1" for pages and messages."""
        if self.connection_name:
            return f"{self.connection_name} · {self.region}"
        return self.region


_current: contextvars.ContextVar[Location | None] = contextvars.ContextVar(
    "tollgate_aws_location", default=None
)


def current_location() -> Location | None:
    return _current.get()


@contextmanager
def at(location: Location) -> Iterator[Location]:
    """Send the AWS calls made inside to `location`."""
    token = _current.set(location)
    try:
        yield location
    finally:
        _current.reset(token)
