"""The demo's staff have an authenticator app with the documented secret and recovery codes from
a fixed seed: someone trying the demo can sign in with what start-up prints."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from demo.management.commands.seed_demo import DEMO_TOTP_SECRET, Command
from portal.access import mfa_setup_required
from portal.accounts.models import StaffRole
from tests.conftest import make_user
from tests.fixtures.mfa import totp_secret

pytestmark = pytest.mark.django_db


def test_demo_staff_get_the_documented_secret_and_a_working_recovery_code() -> None:
    admin = make_user("admin@tollgate.test", StaffRole.ADMIN, mfa=False)
    first = Command()._second_factor(admin)
    assert Command()._second_factor(admin) == first  # idempotent: the same code again
    assert totp_secret(admin) == DEMO_TOTP_SECRET
    assert mfa_setup_required(admin) is None
    codes = Authenticator.objects.get(user=admin, type="recovery_codes").wrap()
    assert codes.validate_code(first)
    assert Command()._second_factor(admin) != first  # used: the next one is printed
