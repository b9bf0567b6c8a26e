"""Where a key's copies are: reads shared by the pages, the API and the services."""

from __future__ import annotations

from keys.models import ApiKey, KeyCopy
from portal.aws.location import Location
from portal.connections.locations import Locations, home_location


def place_of_first_copy(key: ApiKey) -> Location:
    """The account and region of `key.aws_id` (the copy in its tier's first place): every copy
    holds the same value, so that one answers for all."""
    copy = KeyCopy.objects.filter(key=key, aws_id=key.aws_id).exclude(aws_id="").first()
    if copy is None:
        return home_location()  # a key synced before copies existed
    return Locations([copy.connection_id]).at(copy.connection_id, copy.region)


def copies_of(key: ApiKey) -> list[KeyCopy]:
    """The key's copies with their connections, first place first (as the sync orders them)."""
    copies = list(key.copies.select_related("connection"))
    return sorted(copies, key=lambda c: (c.aws_id != key.aws_id, c.connection_id or 0, c.region))
