"""Rolling a key whose tier covers us-east-1 and eu-west-1: each region meters its own quota, so
the quota is carried and the overlap settled in each, with the old and the new key's copies
there (keys/rotation.py), against the local AWS over HTTP."""

from __future__ import annotations

import datetime
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from keys.models import ApiKey
from keys.rotation import GRACES, advance, key_rotate, retire_rotated_keys
from localaws.testing import LocalAwsControl
from tests.conftest import wait_until
from tests.usage.two_regions import World, world_fixture  # noqa: F401 - the `world` fixture

pytestmark = pytest.mark.integration

EAST, WEST = "us-east-1", "eu-west-1"


def today() -> str:
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def steps(key: ApiKey, region: str, world: World) -> dict[str, Any]:
    """The rotation's steps in `region`: the first place's at the top of the state."""
    key.refresh_from_db()
    if region == EAST:
        return key.rotation_state
    found: dict[str, Any] = key.rotation_state.get("places", {}).get(
        f"{world.connection.pk}:{region}", {}
    )
    return found


def test_the_quota_moves_and_settles_in_each_region(
    world: World, control: LocalAwsControl, settle: Any
) -> None:
    old = world.key
    old_ids = {region: world.key_id(region) for region in (EAST, WEST)}

    def use(region: str, key_id: str, n: int) -> None:
        control.set_usage(world.plan_id(region), key_id, today(), n, region=region)

    use(EAST, old_ids[EAST], 300)
    use(WEST, old_ids[WEST], 120)

    new = key_rotate(actor=world.owner, key=old, grace=GRACES["1h"])
    settle(60)
    wait_until(
        lambda: all("applied_at" in steps(new, r, world).get("carry", {}) for r in (EAST, WEST)),
        timeout=60,
        what="the quota carried over in both regions",
    )
    # The new key continues in each region with what the old one had left there.
    assert world.remaining(EAST, today(), new) == 99_700
    assert world.remaining(WEST, today(), new) == 99_880
    assert steps(new, WEST, world)["carry"]["old_remaining"] == 99_880

    # Both keys are used during the overlap, differently in each region.
    new_ids = {region: world.key_id(region, new) for region in (EAST, WEST)}
    use(EAST, old_ids[EAST], 350)
    use(EAST, new_ids[EAST], 20)
    use(WEST, old_ids[WEST], 150)

    ApiKey.objects.filter(pk=old.pk).update(grace_ends_at=timezone.now() - timedelta(seconds=1))
    assert retire_rotated_keys() == 1
    settle(60)
    wait_until(lambda: "done" in steps(new, EAST, world), timeout=60, what="the overlap settled")

    # Old + new never exceed one quota in either region.
    assert world.remaining(EAST, today(), new) == 100_000 - 350 - 20
    assert world.remaining(WEST, today(), new) == 100_000 - 150
    assert steps(new, WEST, world)["settle"]["old_remaining"] == 100_000 - 150
    for region in (EAST, WEST):
        live = {k["id"] for k in world.apigw[region].get_api_keys()["items"]}
        assert old_ids[region] not in live and new_ids[region] in live
    assert advance(new.pk) == "nothing"  # a retried step sends nothing again
    assert world.remaining(WEST, today(), new) == 100_000 - 150
