"""Personal access tokens: what token_create refuses (portal.tokens.services)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import User
from portal.tokens.services import token_create


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "The expiry must be in the future."), (400, "A token may live at most one year.")],
)
def test_it_refuses_a_bad_expiry(alice: User, days: int, message: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        token_create(
            user=alice, name="x", scope="read", expires_at=timezone.now() + timedelta(days=days)
        )
    assert caught.value.message_dict == {"expires_at": [message]}
