"""Demo data for `make demo`: staff logins, AWS connections, tiers on the discovered stages, a few
customers with keys.

The local AWS holds the demo API in three places (localaws/demo_estate.py): two regions of the
main account and a partner account reached through a role. The default connection covers both
regions and a "Partner" connection assumes the partner's role, so discovery finds the three
stages; the usual tiers cover the main us-east-1 stage only, and "Global" covers all three, so
its customers' keys are three copies with one value.

Idempotent: a second run finds what the first created and adds nothing twice.
"""

import datetime
import time
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import encrypt
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from keys.models import ApiKey, KeyCopy
from keys.rotation import key_rotate
from keys.services import key_create
from localaws.demo_estate import PARTNER_EXTERNAL_ID, PARTNER_ROLE_ARN
from plans.approvals import tier_request_create
from plans.models import ApiStage, Plan, Subscription, TierRequest
from plans.services import plan_create, subscription_switch
from plans.stages import stage_set_available, stages_discover
from portal.accounts.models import StaffRole, User
from portal.connections.models import AwsConnection
from portal.connections.services import connection_create, connection_default, connection_update
from portal.customers.models import Customer, Invitation, Membership, MembershipRole
from portal.customers.services import customer_onboard
from portal.sync import SyncStatus
from portal.teams.services import invitation_create
from portal.usage.models import UsageDay

DEMO_PASSWORD = "tollgate-demo"
STAFF = [("admin@tollgate.test", StaffRole.ADMIN), ("ops@tollgate.test", StaffRole.OPS)]
# Staff must sign in with a second factor (portal.access.mfa_setup_required): the demo's staff
# share this well-known authenticator-app secret (the usual example key of TOTP docs; demo only), and
# each has recovery codes from a fixed seed, printed at start-up.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
TIERS: list[dict[str, Any]] = [
    {
        "name": "Free",
        "description": "Try the API: enough for a prototype.",
        "self_serve": True,
        "is_default": True,
        "throttle_rate": Decimal("2"),
        "throttle_burst": 5,
        "quota_limit": 1000,
        "quota_period": "DAY",
        "quota_offset": 0,
        "monthly_price": None,
    },
    {
        "name": "Premium",
        "description": "For production apps with steady traffic.",
        "self_serve": True,
        "is_default": False,
        "throttle_rate": Decimal("50"),
        "throttle_burst": 100,
        "quota_limit": 100_000,
        "quota_period": "MONTH",
        "quota_offset": 0,
        "monthly_price": Decimal("49"),
    },
    {
        "name": "Enterprise",
        "description": "High volume with a negotiated contract.",
        "self_serve": False,
        "is_default": False,
        "throttle_rate": Decimal("500"),
        "throttle_burst": 1000,
        "quota_limit": 5_000_000,
        "quota_period": "MONTH",
        "quota_offset": 0,
        "monthly_price": Decimal("499"),
    },
]
# The default connection's regions; the main account's us-east-1 is where the tiers above live.
MAIN_REGIONS = ["us-east-1", "eu-west-1"]
HOME_REGION = "us-east-1"
# The partner account of localaws/demo_estate.py, reached the way SaaS tools reach a
# customer's account: STS AssumeRole with an external id.
PARTNER: dict[str, Any] = {
    "name": "Partner",
    "role_arn": PARTNER_ROLE_ARN,
    "external_id": PARTNER_EXTERNAL_ID,
    "regions": ["us-east-1"],
}
# Covers every stage discovery found: both regions of the main account and the partner's.
GLOBAL_TIER: dict[str, Any] = {
    "name": "Global",
    "description": "Serve customers in the US and Europe, and through our partner's API: one "
    "key works in every region.",
    "self_serve": True,
    "is_default": False,
    "throttle_rate": Decimal("100"),
    "throttle_burst": 200,
    "quota_limit": 500_000,
    "quota_period": "MONTH",
    "quota_offset": 0,
    "monthly_price": Decimal("149"),
}
CUSTOMERS = [
    ("Acme Robotics", "alice@acme.test", "Free", ["production", "staging"]),
    ("Globex", "bob@globex.test", "Premium", ["backend", "mobile app", "analytics"]),
    ("Initech", "carol@initech.test", "Enterprise", ["billing service"]),
    ("Hooli", "gavin@hooli.test", "Global", ["web", "mobile app"]),
    ("Vandelay Industries", "art@vandelay.test", "Global", ["import service"]),
]
# Teammates: a plain member of Acme (keys and usage, not the tier or the members), with a key of
# his own, and an invitation Acme's owner sent that nobody has accepted yet.
MEMBERS = [("Acme Robotics", "dave@acme.test", ["dave-laptop"])]
INVITED = ("Acme Robotics", "alice@acme.test", "erin@acme.test")
# One key rolled with a day's grace: the old and the new key both work meanwhile.
ROTATING_KEY = ("Acme Robotics", "alice@acme.test", "staging")
# One key that expires in about 5 days (its page and the key list show the warning).
EXPIRING_KEY = ("Globex", "bob@globex.test", "partner sandbox")
# So the console's queue of tier requests is not empty: Globex's owner asks for Enterprise.
PENDING_REQUEST = (
    "Globex",
    "bob@globex.test",
    "Enterprise",
    "We are moving our checkout to your API next quarter: about 2 million calls a month.",
)


class Command(BaseCommand):
    help = "Create demo logins, tiers, customers and keys (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        staff = {email: self._user(email, role) for email, role in STAFF}
        recovery = {email: self._second_factor(user) for email, user in staff.items()}
        admin = staff[STAFF[0][0]]

        self._connections(admin)
        result = stages_discover()
        for where, reason in result.unreachable.items():
            self.stdout.write(self.style.WARNING(f"Stages in {where} not read: {reason}"))
        stages = list(ApiStage.objects.filter(missing_since__isnull=True))
        if not stages:
            raise CommandError("No REST API stage found in AWS; is the local AWS server running?")
        self.stdout.write(
            f"Stages: {result.found} found in AWS ({', '.join(s.where for s in stages)})"
        )
        for stage in stages:
            stage_set_available(actor=admin, stage=stage, available=True)

        home = self._home_stages(stages)
        for spec in TIERS:
            if not Plan.objects.filter(name=spec["name"]).exists():
                plan_create(actor=admin, data=spec, stages=home)
                self.stdout.write(f"Tier {spec['name']} created")
        if not Plan.objects.filter(name=GLOBAL_TIER["name"]).exists():
            plan_create(actor=admin, data=dict(GLOBAL_TIER), stages=stages)
            self.stdout.write(f"Tier {GLOBAL_TIER['name']} created, in {len(stages)} places")

        for org, email, tier, key_names in CUSTOMERS:
            with transaction.atomic():
                owner = self._user(email, StaffRole.NONE)
                customer = Customer.objects.filter(name=org).first()
                if customer is None:
                    customer = customer_onboard(owner=owner, organisation_name=org)
                    plan = Plan.objects.get(name=tier)
                    if not plan.is_default:
                        subscription_switch(
                            actor=admin, customer=customer, plan=plan, by_staff=True
                        )
                    self.stdout.write(f"Customer {org} created on {tier}")
                for key_name in key_names:
                    if not ApiKey.objects.live().filter(customer=customer, name=key_name).exists():
                        key_create(actor=owner, customer=customer, name=key_name)

        for org, email, key_names in MEMBERS:
            member = self._user(email, StaffRole.NONE)
            customer = Customer.objects.get(name=org)
            Membership.objects.get_or_create(
                user=member, customer=customer, defaults={"role": MembershipRole.MEMBER}
            )
            for key_name in key_names:
                if not ApiKey.objects.live().filter(customer=customer, name=key_name).exists():
                    key_create(actor=member, customer=customer, name=key_name)
        self._expiring_key()
        self._invite()
        self._request_a_tier()
        self._simulate_traffic_once()
        self._rotating_key()
        self._report_copies()

        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for email, role in STAFF:
            self.stdout.write(f"  {email:<24} {role.label}, with two-factor authentication")
        for org, email, tier, _ in CUSTOMERS:
            self.stdout.write(f"  {email:<24} customer, owner of {org} ({tier})")
        for org, email, _ in MEMBERS:
            self.stdout.write(f"  {email:<24} customer, member of {org} (keys, not the tier)")
        self.stdout.write(
            f"Staff sign in with a second step: the 6-digit code of an authenticator app set up "
            f"with the secret {DEMO_TOTP_SECRET} (type it into any TOTP app: Google "
            f"Authenticator, 1Password, oathtool --totp -b {DEMO_TOTP_SECRET}), or a recovery "
            f"code, each good once:"
        )
        for email, code in recovery.items():
            self.stdout.write(f"  {email:<24} recovery code {code}")

    def _connections(self, admin: User) -> None:
        """The default connection in both regions of the main account, and the partner's
        connection (each checked by the worker, as the console's forms would)."""
        default = connection_default()
        regions = list(dict.fromkeys([*default.regions, *MAIN_REGIONS]))
        if regions != list(default.regions):
            connection_update(
                actor=admin,
                connection=default,
                name=default.name,
                role_arn=default.role_arn,
                external_id=default.external_id,
                regions=regions,
            )
            self.stdout.write(f"AWS connection {default.name}: {', '.join(regions)}")
        if not AwsConnection.objects.filter(name=PARTNER["name"]).exists():
            connection_create(actor=admin, **PARTNER)
            self.stdout.write(f"AWS connection {PARTNER['name']}: {PARTNER['role_arn']}")

    def _home_stages(self, stages: list[ApiStage]) -> list[ApiStage]:
        """The stages in the main account's us-east-1: the one place the usual tiers cover."""
        default = connection_default()
        home = [
            stage
            for stage in stages
            if stage.region == HOME_REGION and stage.connection_id in (None, default.pk)
        ]
        if not home:
            raise CommandError(f"No REST API stage found in {HOME_REGION} of the main account.")
        return home

    def _report_copies(self) -> None:
        """Where the Global tier's keys are, once the worker made their copies."""
        plan = Plan.objects.get(name=GLOBAL_TIER["name"])
        on_plan = Subscription.objects.active().filter(plan=plan).values("customer_id")
        keys = ApiKey.objects.live().filter(customer_id__in=on_plan)
        copies = (
            KeyCopy.objects.filter(key__in=keys).exclude(aws_id="").select_related("connection")
        )
        # The default connection's regions first: "us-east-1, eu-west-1, Partner · us-east-1".
        places = sorted(
            {(copy.connection_id or 0, copy.region): copy.where for copy in copies}.items(),
            key=lambda item: ("·" in item[1], item[0][1] != HOME_REGION, item[0]),
        )
        self.stdout.write(
            f"Tier {plan.name}: {keys.count()} keys, {copies.count()} copies in AWS "
            f"({', '.join(where for _, where in places) or 'none yet'})"
        )

    def _rotating_key(self) -> None:
        """Acme's staging key, rolled once with a day's grace (after the traffic, so the new
        key's quota is carried over from the old one's): both show, linked, with the time left."""
        org, email, name = ROTATING_KEY
        customer = Customer.objects.get(name=org)
        if ApiKey.objects.filter(customer=customer, rotated_from__isnull=False).exists():
            return
        old = ApiKey.objects.live().filter(customer=customer, name=name).first()
        if old is None:
            return
        new = key_rotate(
            actor=User.objects.get(email=email), key=old, grace=datetime.timedelta(hours=24)
        )
        self.stdout.write(f"{org}'s key “{name}” rolled: “{new.name}” replaces it within 24 h")

    def _expiring_key(self) -> None:
        """A Globex key that expires in about 5 days, so its warning shows (keys.expiry), made
        once: after it expired and was deleted, a later start does not bring it back."""
        org, email, name = EXPIRING_KEY
        customer = Customer.objects.get(name=org)
        if ApiKey.objects.filter(customer=customer, name=name).exists():
            return
        expires_at = timezone.now() + datetime.timedelta(days=5, hours=2)
        key_create(
            actor=User.objects.get(email=email), customer=customer, name=name, expires_at=expires_at
        )
        self.stdout.write(f"{org}'s key “{name}” expires on {expires_at:%Y-%m-%d %H:%M} UTC")

    def _invite(self) -> None:
        """One pending invitation on Acme's Members page, sent once (its link went to the
        console with the email; the owner can resend it there)."""
        org, inviter, email = INVITED
        customer = Customer.objects.get(name=org)
        if Invitation.objects.filter(customer=customer, email=email).exists():
            return
        invitation_create(
            actor=User.objects.get(email=inviter),
            customer=customer,
            email=email,
            # The web port's address (scripts/start_demo.py sets it): under honcho, PORT is each
            # process's own (8000 + 100 x its place in the Procfile), not the web's.
            base_url=str(settings.TOLLGATE["SITE_URL"]),
        )
        self.stdout.write(f"{inviter} invited {email} to {org} (pending on its Members page)")

    def _request_a_tier(self) -> None:
        """One pending request in the console's queue, made once (a decided one stays decided)."""
        org, email, tier, message = PENDING_REQUEST
        customer = Customer.objects.get(name=org)
        if TierRequest.objects.filter(customer=customer).exists():
            return
        tier_request_create(
            actor=User.objects.get(email=email),
            customer=customer,
            plan=Plan.objects.get(name=tier),
            message=message,
        )
        self.stdout.write(f"{org} asks for the {tier} tier (pending in the console)")

    def _simulate_traffic_once(self) -> None:
        """30 days of traffic for the charts, on the first start only: a second simulation
        would count the same days twice in CloudWatch."""
        if UsageDay.objects.exists():
            return
        deadline = time.monotonic() + 90
        while ApiKey.objects.filter(sync_status=SyncStatus.PENDING).exists():
            if time.monotonic() > deadline:
                raise CommandError("The demo keys did not reach the local AWS within 90 s.")
            time.sleep(0.5)
        call_command("simulate_traffic", days=30, seed=1, stdout=self.stdout)

    def _second_factor(self, user: User) -> str:
        """The demo secret as the person's authenticator app, and recovery codes from a seed of
        their own (fixed, so every start prints a code that still works): the first unused."""
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
        Authenticator.objects.get_or_create(
            user=user,
            type=Authenticator.Type.RECOVERY_CODES,
            defaults={"data": {"seed": encrypt(f"tollgate-demo-{user.email}"), "used_mask": 0}},
        )
        codes = RecoveryCodes.activate(user).get_unused_codes()
        return codes[0] if codes else "(all used: sign in with the app's code)"

    def _user(self, email: str, role: StaffRole) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=DEMO_PASSWORD,
                staff_role=role,
                is_staff=role == StaffRole.ADMIN,
                is_superuser=role == StaffRole.ADMIN,
            )
        # allauth: the address is verified, so demo people sign in (ACCOUNT_EMAIL_VERIFICATION is
        # "mandatory") and create keys at once - also people an earlier demo seeded unverified.
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user
