"""The errors every layer shares: what a sync attempt's outcome means, and a refusal.

They live at the bottom of the kernel (docs/architecture.md) so that the AWS boundary, the sync
engine, the domains and the interfaces all speak of them without importing one another.
"""

from __future__ import annotations


class TransientSyncError(Exception):
    """Worth retrying later: AWS throttled or failed, or something we depend on is not ready."""


class AnswerLost(TransientSyncError):
    """AWS received the call but its answer never came (a read timeout, a dropped connection):
    AWS may still apply it, later than any read made now would show."""


class PermanentSyncError(Exception):
    """Retrying the same desired state cannot help; a person must change something."""


class Refused(Exception):
    """A person asked for something the rules do not allow, and nothing changed.

    Services raise it (or Django's ValidationError for field errors); pages show the message and
    the REST API answers `status` with the problem shape (portal/rest/errors.py). Subclasses name
    the common answers so a service never thinks in HTTP codes.
    """

    status = 400
    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotReady(Refused):
    """Not yet: the object is not in a state that allows this (try again later)."""

    status = 409
    code = "conflict"


class NoLongerAvailable(Refused):
    """Never again: the moment for this has passed (a secret already shown, a revoked key)."""

    status = 410
    code = "gone"


class NotAllowed(Refused):
    """This person may see the object but not do this to it."""

    status = 403
    code = "permission_denied"
