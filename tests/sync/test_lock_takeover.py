"""A sync lock left by a worker that died holding it is taken over by the redelivered task.

Without it, the redelivered task (portal/celery_lease.py brings it back within seconds) would
wait for the dead worker's lock to expire: two minutes.
"""

from __future__ import annotations

from django.core.cache import cache

from portal.sync import object_lock


def test_the_redelivered_task_takes_over_the_lock_of_its_dead_first_delivery() -> None:
    with object_lock("test:takeover", holder="task-1") as first:
        assert first
        # The worker dies here: the lock stays. The same message, delivered again, carries
        # the same task id.
        with object_lock("test:takeover", holder="task-1") as again:
            assert again
            with object_lock("test:takeover", holder="task-2") as other:
                assert not other  # another task still waits for it
    assert cache.get("tollgate:sync-lock:test:takeover") is None  # released by its last holder


def test_a_lock_without_holder_is_never_taken_over() -> None:
    with object_lock("test:plain") as first:
        assert first
        with object_lock("test:plain") as second:
            assert not second
        with object_lock("test:plain", holder="task-1") as third:
            assert not third
