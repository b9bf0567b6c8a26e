"""Who may do what, route by route: Tollgate's access policy as one table.

One `Row` per route name and HTTP method (a few routes have a second row for a case with its own
rule, named by `variant`). Its six cells are what each role of `CELL_ROLES` gets, in that order,
and two more roles follow others unless the row says otherwise (`member=`, `invited=`):

- anonymous - nobody signed in;
- charlie   - signed in, no organisation;
- dave      - invited to Acme (the invitation not accepted yet): no organisation. Unless a row
              says `invited=`, dave gets what charlie gets;
- maria     - a plain member of Acme (not an owner): keys and usage, not billing, members or
              settings. Unless a row says `member=`, maria gets what alice gets;
- alice     - owner of Acme, acting on Acme's object;
- bob       - owner of Globex, acting on *Acme's* object (another organisation's): a 404, never
              a 403. Where a route names no object (a list, "create a key"), bob acts for Globex;
- ops       - staff, read-only: reads everything, every write is refused (403);
- admin     - everything.

A cell is a status, or an `Expect`. A bare status below 400 is an allowed request; 400 and above
is a refusal. `ok(...)` and `no(...)` say so explicitly (a refusal may answer 200 or 302, e.g. a
redirect to the login page). An allowed write must leave the row's `audit` events and, when
`sync` is set, a task scheduled on commit; anything else - a refusal, or a read - must leave the
database exactly as it was, with no audit event and no task. `bug(cell, reason)` marks where the
product disagrees with the policy: the test is a strict xfail until the product is fixed.

Placeholders such as "{acme_key}" are the objects of tests/access/conftest.py's `world`. Its
tiers: Free (the default, self-serve), Premium (self-serve), Enterprise (listed, approval
required) and Partner (live but unlisted: staff place customers on it).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

CELL_ROLES = ("anonymous", "charlie", "alice", "bob", "ops", "admin")
ROLES = ("anonymous", "charlie", "dave", "maria", "alice", "bob", "ops", "admin")

CLIENT_ERROR = range(400, 500)


@dataclass(frozen=True)
class Expect:
    status: int | range
    allowed: bool
    redirect: str = ""  # the Location header starts with this (a 3xx answer)
    contains: tuple[str, ...] = ()  # the body holds each of these
    lacks: tuple[str, ...] = ()  # ...and none of these (another organisation's data)
    xfail: str = ""  # the product disagrees with this cell: why


Cell = int | Expect
Cells = tuple[Cell, Cell, Cell, Cell, Cell, Cell]  # in CELL_ROLES order


def ok(
    status: int = 200,
    redirect: str = "",
    *,
    contains: tuple[str, ...] = (),
    lacks: tuple[str, ...] = (),
) -> Expect:
    """Allowed: a write must show its effect."""
    return Expect(status, True, redirect, contains, lacks)


def no(status: int | range, redirect: str = "", *, contains: tuple[str, ...] = ()) -> Expect:
    """Refused: nothing may change."""
    return Expect(status, False, redirect, contains)


def bug(cell: Cell, reason: str) -> Expect:
    """The intended policy, which the product does not follow yet (a strict xfail)."""
    return replace(as_expect(cell), xfail=reason)


def as_expect(cell: Cell) -> Expect:
    if isinstance(cell, Expect):
        return cell
    return Expect(cell, allowed=cell < 400)


LOGIN = no(302, "/accounts/login/")  # a page, anonymous: off to the login page
CONSOLE = no(302, "/console/")  # a customer page, staff: they have no organisation of their own
WELCOME = no(302, "/welcome/")  # a customer page, someone in no organisation


@dataclass(frozen=True)
class Row:
    route: str  # "namespace:name", or the pattern of an unnamed route
    method: str
    cells: Cells
    kwargs: dict[str, str] = field(default_factory=dict)  # URL kwargs, with placeholders
    data: dict[str, Any] | None = None  # the body: a form for pages, JSON for /api/v1/
    upload: bytes = b""  # sent as the multipart file field "file"
    audit: tuple[str, ...] = ()  # AuditEvent actions an allowed write records
    sync: bool = False  # an allowed write schedules a task on commit
    changes: bool = True  # an allowed write changes a row besides its AuditEvents
    prepare: str = ""  # a state the world is put in first (conftest.PREPARE)
    variant: str = ""
    path: str = ""  # for an unnamed route: the path to request
    member: Cell | None = None  # maria, Acme's plain member; None: what alice gets
    invited: Cell | None = None  # dave, invited to Acme but not joined; None: what charlie gets

    @property
    def api(self) -> bool:
        return self.route.startswith("v1:") or self.path.startswith("/api/")

    @property
    def writes(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    @property
    def label(self) -> str:
        return f"{self.route} {self.method}" + (f" [{self.variant}]" if self.variant else "")

    def expect(self, role: str) -> Expect:
        if role == "maria":
            return as_expect(self.member if self.member is not None else self.expect("alice"))
        if role == "dave":
            return as_expect(self.invited if self.invited is not None else self.expect("charlie"))
        return as_expect(self.cells[CELL_ROLES.index(role)])


# --- why some cells are strict xfails (the product disagrees with the policy) -------------------


# --- valid bodies ------------------------------------------------------------------------------

CONNECTION_FORM = {
    "name": "Europe",
    "role_arn": "arn:aws:iam::222222222222:role/TollgateAccess",
    "external_id": "tollgate-demo",
    "regions": "eu-west-1",
}
TIER_FORM = {
    "name": "Gold",
    "description": "For big customers",
    "monthly_price": "99",
    "self_serve": "on",
    "throttle_rate": "25.5",
    "throttle_burst": "50",
    "quota_limit": "20000",
    "quota_period": "WEEK",
    "quota_offset": "1",
    "stages": "{stage}",
}
PREMIUM_FORM = {  # Premium as it is, with a new description: a real change
    "name": "Premium",
    "description": "Changed through the console",
    "monthly_price": "49",
    "self_serve": "on",
    "throttle_rate": "50",
    "throttle_burst": "100",
    "quota_limit": "100000",
    "quota_period": "MONTH",
    "quota_offset": "0",
    "stages": "{stage}",
}
TIER_JSON = {
    "name": "Gold",
    "description": "Lots",
    "throttle_rate": "20.5",
    "throttle_burst": 40,
    "quota_limit": 50000,
    "quota_period": "MONTH",
    "monthly_price": "99.00",
    "stages": ["{stage}"],
}
TIER_MOVE = {"from_tier": "free", "to_tier": "premium"}  # Acme and Globex are on Free
KEYS_CSV = b"customer,name,key\nacme,imported-2,Imp0rtedSecretValue0002xyz\n"
SECRET = "Xk2p9s3cr3tVALUEfromApiGateway0123456789"  # what the stubbed GetApiKey returns

# A customer's view of the tiers: the live listed ones, not the unlisted Partner tier.
LISTED_TIERS = ok(contains=('"enterprise"', '"premium"', '"free"'), lacks=('"partner"',))

# The audit log: the key.created events of the world's keys, by organisation.
AUDIT_ALL = ok(contains=("acme-production", "globex-production"))
AUDIT_ACME = ok(contains=("acme-production",), lacks=("globex-production",))
AUDIT_GLOBEX = ok(contains=("globex-production",), lacks=("acme-production",))

# Alice's "laptop" token (the world's), as the console and the API list it.
ALICE_TOKEN_SEEN = ok(contains=("laptop", "alice@acme.test"))
ALICE_TOKEN_LISTED = ok(contains=('"laptop"',))
ALICE_TOKEN_HIDDEN = ok(lacks=('"laptop"',))

KEY = {"public_id": "{acme_key}"}
API_KEY = {"id": "{acme_key}"}
# An expiry a month from now (keys.expiry: in the future, at most three years away).
EXPIRY = f"{datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30):%Y-%m-%dT%H:%M}"


# Owner-only: a plain member of the organisation is refused (pages 403, the API 403).
OWNER_ONLY = no(403)
# Acme's keys were created by alice: maria, a plain member, reads them but may not change them...
NOT_CREATOR = no(403, contains=("created",))
# ...nor see their secret (only the creator ever does).
NOT_CREATOR_SECRET = no(200, contains=("Only the person who created this key",))


# Shorthands for the most common lines, in CELL_ROLES order.
def everyone(cell: Cell) -> Cells:
    return (cell, cell, cell, cell, cell, cell)


PUBLIC = everyone(200)
CONSOLE_READ = (LOGIN, 403, 403, 403, 200, 200)
CONSOLE_FORM = (LOGIN, 403, 403, 403, 403, 200)  # the form of a write: ops may not write


def console_write(admin: Cell) -> Cells:
    return (LOGIN, 403, 403, 403, 403, admin)


def customer_read(alice: Cell = 200, bob: Cell = 404) -> Cells:
    """A customer page: charlie has no organisation (off to /welcome/: invitations waiting, or
    a new organisation), staff go to the console."""
    return (LOGIN, WELCOME, alice, bob, CONSOLE, CONSOLE)


def customer_write(alice: Cell, bob: Cell = 404) -> Cells:
    return (LOGIN, 403, alice, bob, 403, 403)  # staff have no organisation to act for


STAFF_API = (401, 403, 403, 403, 200, 200)


def admin_api(admin: Cell) -> Cells:
    return (401, 403, 403, 403, 403, admin)


def customer_api_read(alice: Cell = 200, bob: Cell = 404) -> Cells:
    return (401, 403, alice, bob, 200, 200)


MATRIX: list[Row] = [
    # --- public pages ---------------------------------------------------------------------------
    Row(
        "home",
        "GET",
        (
            ok(302, "/pricing/"),
            ok(302, "/app/"),
            ok(302, "/app/"),
            ok(302, "/app/"),
            ok(302, "/console/"),
            ok(302, "/console/"),
        ),
    ),
    # Every live listed tier, the approval-required Enterprise included; never the unlisted one.
    Row(
        "catalog:pricing",
        "GET",
        everyone(ok(contains=("Enterprise", "Premium", "Free"), lacks=("Partner",))),
    ),
    Row("catalog:apis", "GET", everyone(ok(contains=("Weather API",)))),
    Row("catalog:reference", "GET", PUBLIC, kwargs={"stage_id": "{stage}"}),
    # --- the customer's pages (/app/) ------------------------------------------------------------
    Row(
        "app:keys",
        "GET",
        customer_read(
            ok(contains=("acme-production",)),
            ok(contains=("globex-production",), lacks=("acme-production",)),
        ),
    ),
    Row("app:key-create", "GET", customer_read(200, 200)),
    Row(
        "app:key-create",
        "POST",
        customer_write(ok(302, "/app/keys/"), ok(302, "/app/keys/")),
        data={"name": "CI"},
        audit=("key.created",),
        sync=True,
    ),
    Row("app:key", "GET", customer_read(), kwargs=KEY),
    Row("app:key-status", "GET", customer_read(), kwargs=KEY),
    # The secret, once, to its creator (alice created Acme's key; it is issued by AWS).
    Row(
        "app:key-secret",
        "POST",
        customer_write(ok(200, contains=(SECRET,))),
        kwargs=KEY,
        member=NOT_CREATOR_SECRET,
        audit=("key.secret_revealed",),
    ),
    Row(
        "app:key-secret",
        "POST",
        customer_write(no(200, contains=("already been shown",))),
        kwargs=KEY,
        member=NOT_CREATOR_SECRET,
        prepare="secret_shown",
        variant="shown already",
    ),
    Row(
        "app:key-rename",
        "POST",
        customer_write(ok(302, "/app/keys/{acme_key}/")),
        kwargs=KEY,
        member=NOT_CREATOR,
        data={"name": "renamed"},
        audit=("key.renamed",),
        sync=True,
    ),
    Row(
        "app:key-enabled",
        "POST",
        customer_write(ok(302, "/app/keys/{acme_key}/")),
        kwargs=KEY,
        member=NOT_CREATOR,
        data={"enabled": "0"},
        audit=("key.disabled",),
        sync=True,
    ),
    Row(
        "app:key-revoke",
        "POST",
        customer_write(ok(302, "/app/")),
        kwargs=KEY,
        member=NOT_CREATOR,
        audit=("key.revoked",),
        sync=True,
    ),
    Row(
        "app:key-roll",
        "POST",
        customer_write(ok(302, "/app/keys/")),  # to the new key's page
        kwargs=KEY,
        member=NOT_CREATOR,
        data={"grace": "1h"},
        audit=("key.rotated",),
        sync=True,
    ),
    # Expiry: the same people as every key write (an owner, or the member who created it).
    Row(
        "app:key-expiry",
        "POST",
        customer_write(ok(302, "/app/keys/{acme_key}/")),
        kwargs=KEY,
        member=NOT_CREATOR,
        data={"expires_at": EXPIRY},
        audit=("key.expiry_set",),
        sync=True,
    ),
    Row(
        "app:key-retry",
        "POST",
        customer_write(ok(302, "/app/keys/{acme_key}/")),
        kwargs=KEY,
        member=NOT_CREATOR,
        audit=("key.sync_retried",),
        sync=True,
    ),
    Row(
        "app:tier",
        "GET",
        customer_read(
            ok(contains=("Enterprise", "Needs approval"), lacks=("Partner",)),
            ok(contains=("Enterprise",), lacks=("Partner",)),
        ),
    ),
    # Self-serve: bob switches Globex (his own), alice Acme; every key follows (a sync each).
    Row(
        "app:tier-switch",
        "POST",
        customer_write(ok(302, "/app/"), ok(302, "/app/")),
        member=OWNER_ONLY,
        data={"plan": "premium"},
        audit=("subscription.started",),
        sync=True,
    ),
    Row(
        "app:tier-switch",
        "POST",
        customer_write(
            # Pages answer a refused POST by redirecting back with the message (the API: 400).
            no(302, "/app/tier/"),
            no(302, "/app/tier/"),
        ),
        data={"plan": "enterprise"},
        member=OWNER_ONLY,
        variant="approval tier",
    ),
    Row("app:usage", "GET", customer_read(ok(contains=("acme-production",)), 200)),
    Row("app:usage-csv", "GET", customer_read(200, 200)),
    # Organisation settings: everyone in it reads them (bob his own Globex's), owners change the
    # "require MFA" switch (portal.mfa.services.customer_set_require_mfa).
    Row(
        "app:settings",
        "GET",
        customer_read(
            ok(contains=("Acme", 'name="require_mfa"')),
            ok(contains=("Globex",), lacks=("Acme",)),
        ),
        member=ok(
            contains=("Acme", "Only an owner can change this"), lacks=('name="require_mfa"',)
        ),
    ),
    Row(
        "app:settings",
        "POST",
        customer_write(ok(302, "/app/settings/"), ok(302, "/app/settings/")),
        data={"require_mfa": "on"},
        audit=("customer.mfa_required",),
        member=OWNER_ONLY,
    ),
    # ...and its key settings (portal.mfa.key_settings): idle keys, leaked keys.
    Row(
        "app:settings",
        "POST",
        customer_write(ok(302, "/app/settings/"), ok(302, "/app/settings/")),
        data={"section": "keys", "disable_idle_keys": "on", "leaked_key_action": "roll"},
        audit=("customer.key_settings_changed",),
        member=OWNER_ONLY,
        variant="key settings",
    ),
    # --- tier requests (approval-only tiers): an owner asks, an admin decides -------------------
    # The form of a request: bob's is for Globex (his own); a plain member may not ask.
    Row(
        "app:tier-request",
        "GET",
        customer_read(ok(contains=("Request the Enterprise tier",)), 200),
        kwargs={"slug": "enterprise"},
        member=OWNER_ONLY,
    ),
    # Nothing reaches AWS until an approval; the admins' email goes on commit (`sync`).
    Row(
        "app:tier-request",
        "POST",
        customer_write(ok(302, "/app/tier/"), ok(302, "/app/tier/")),
        kwargs={"slug": "enterprise"},
        data={"message": "We launch next month"},
        member=OWNER_ONLY,
        audit=("tier_request.created",),
        sync=True,
    ),
    # One pending request at a time: Acme's second is refused (the page says why).
    Row(
        "app:tier-request",
        "POST",
        customer_write(no(302, "/app/tier/"), ok(302, "/app/tier/")),
        kwargs={"slug": "enterprise"},
        data={"message": "Again"},
        member=OWNER_ONLY,
        audit=("tier_request.created",),
        sync=True,
        prepare="enterprise_requested",
        variant="one pending already",
    ),
    Row(
        "app:tier-request-withdraw",
        "POST",
        customer_write(ok(302, "/app/tier/")),
        kwargs={"request_id": "{acme_tier_request}"},
        member=OWNER_ONLY,
        audit=("tier_request.withdrawn",),
        prepare="enterprise_requested",
    ),
    # Leaving an approval-only tier asks first ("coming back needs approval again"), changing
    # nothing; bob's Globex is on Free and switches at once.
    Row(
        "app:tier-switch",
        "POST",
        customer_write(no(200, contains=("needs approval again",)), ok(302, "/app/")),
        data={"plan": "premium"},
        member=OWNER_ONLY,
        audit=("subscription.started",),
        sync=True,
        prepare="acme_on_enterprise",
        variant="leaving an approval tier",
    ),
    Row(
        "app:tier-switch",
        "POST",
        customer_write(ok(302, "/app/"), ok(302, "/app/")),
        data={"plan": "premium", "confirmed": "1"},
        member=OWNER_ONLY,
        audit=("subscription.started",),
        sync=True,
        prepare="acme_on_enterprise",
        variant="leaving an approval tier, confirmed",
    ),
    # --- the organisation's people (/app/members/) and the invitation link ----------------------
    Row(
        "app:members",
        "GET",
        customer_read(
            ok(contains=("alice@acme.test", "maria@acme.test", "dave@invited.test")),
            ok(contains=("bob@globex.test",), lacks=("alice@acme.test", "dave@invited.test")),
        ),
    ),
    # Bob invites to Globex, alice to Acme; a member may not invite.
    Row(
        "app:member-invite",
        "POST",
        customer_write(ok(302, "/app/members/"), ok(302, "/app/members/")),
        member=OWNER_ONLY,
        data={"email": "new@example.test", "role": "member"},
        audit=("invitation.created",),
        sync=True,  # the email, sent on commit
    ),
    Row(
        "app:invitation-resend",
        "POST",
        customer_write(ok(302, "/app/members/")),
        member=OWNER_ONLY,
        kwargs={"invitation_id": "{dave_invitation}"},
        audit=("invitation.resent",),
        sync=True,  # the email, sent on commit
    ),
    Row(
        "app:invitation-revoke",
        "POST",
        customer_write(ok(302, "/app/members/")),
        member=OWNER_ONLY,
        kwargs={"invitation_id": "{dave_invitation}"},
        audit=("invitation.revoked",),
    ),
    Row(
        "app:member-role",
        "POST",
        customer_write(ok(302, "/app/members/")),
        member=OWNER_ONLY,
        kwargs={"membership_id": "{maria_membership}"},
        data={"role": "owner"},
        audit=("membership.role_changed",),
    ),
    Row(
        "app:member-remove",
        "POST",
        customer_write(ok(302, "/app/members/")),
        member=OWNER_ONLY,
        kwargs={"membership_id": "{maria_membership}"},
        audit=("membership.removed",),
    ),
    # Alice hands Acme over to maria: maria becomes an owner, alice a member (two changes).
    Row(
        "app:member-transfer",
        "POST",
        customer_write(ok(302, "/app/members/")),
        member=OWNER_ONLY,
        kwargs={"membership_id": "{maria_membership}"},
        audit=("membership.role_changed", "membership.role_changed"),
    ),
    # The last owner cannot leave (alice, bob: refused with a message); maria can.
    Row(
        "app:member-leave",
        "POST",
        customer_write(no(302, "/app/members/"), no(302, "/app/members/")),
        member=ok(302, "/"),
        audit=("membership.left",),
    ),
    # Someone in no organisation: the invitations to their address (dave's to Acme), or a new one.
    Row(
        "welcome",
        "GET",
        (
            LOGIN,
            ok(contains=("Create an organisation",)),
            ok(302, "/app/"),
            ok(302, "/app/"),
            ok(302, "/console/"),
            ok(302, "/console/"),
        ),
        invited=ok(contains=("Acme", "alice@acme.test")),
    ),
    Row(
        "welcome",
        "POST",
        (
            LOGIN,
            ok(302, "/app/"),
            ok(302, "/app/"),
            ok(302, "/app/"),
            no(302, "/console/"),
            no(302, "/console/"),
        ),
        data={"name": "Side Project"},
        audit=("customer.created", "subscription.started"),
    ),
    Row(
        "welcome",
        "POST",
        (LOGIN, no(400), no(400), no(400), no(302, "/console/"), no(302, "/console/")),
        data={"name": " "},
        variant="no name",
    ),
    Row(
        "welcome-accept",
        "POST",
        (LOGIN, 404, 404, 404, 404, 404),
        invited=ok(302, "/app/"),
        kwargs={"invitation_id": "{dave_invitation}"},
        audit=("invitation.accepted", "membership.created"),
    ),
    # Anyone may follow a link: its token goes into the session, the page is shown without it.
    Row(
        "invitation-link",
        "GET",
        everyone(no(302, "/invitation/")),
        kwargs={"token": "dave-invitation-token"},
    ),
    # Without a link's token in the session there is no invitation to show or accept (the
    # journey itself: tests/teams).
    Row("invitation", "GET", everyone(no(404))),
    Row(
        "invitation",
        "POST",
        (LOGIN, *(no(302, "/invitation/"),) * 5),
    ),
    # Work in Acme: its people may (nothing but their own choice changes); others are not in it.
    Row(
        "organisation-switch",
        "POST",
        (LOGIN, no(302, "/"), ok(302, "/app/"), no(302, "/"), no(302, "/"), no(302, "/")),
        data={"customer": "{acme}"},
    ),
    # --- the console (/console/) ----------------------------------------------------------------
    Row("console:overview", "GET", CONSOLE_READ),
    # An organisation made by an import or an adoption gets its first owner by invitation.
    Row(
        "console-customer-invite",
        "POST",
        console_write(ok(302, "/console/customers/{acme}/")),
        kwargs={"customer_id": "{acme}"},
        data={"email": "second-owner@acme.test", "role": "owner"},
        audit=("invitation.created",),
        sync=True,  # the email, sent on commit
    ),
    Row("console:stages", "GET", CONSOLE_READ),
    # Asks AWS for its stages: recorded, and the discovery task sent on commit.
    Row(
        "console:stage-refresh",
        "POST",
        console_write(ok(302, "/console/stages/")),
        audit=("stages.refresh_requested",),
        sync=True,
        changes=False,
    ),
    # Offering a stage also schedules the export of its API document on commit.
    Row(
        "console:stage-availability",
        "POST",
        console_write(ok(302, "/console/stages/")),
        kwargs={"stage_id": "{stage_offline}"},
        data={"available": "1"},
        audit=("stage.offered",),
        sync=True,
    ),
    # --- AWS connections: staff read, admins change; a change or "Check now" sends the check
    Row("console:connections", "GET", CONSOLE_READ),
    Row("console:connection-create", "GET", CONSOLE_FORM),
    Row(
        "console:connection-create",
        "POST",
        console_write(ok(302, "/console/connections/")),
        data=CONNECTION_FORM,
        audit=("aws_connection.created",),
        sync=True,
    ),
    Row("console:connection", "GET", CONSOLE_READ, kwargs={"connection_id": "{aws_connection}"}),
    Row(
        "console:connection-edit", "GET", CONSOLE_FORM, kwargs={"connection_id": "{aws_connection}"}
    ),
    Row(
        "console:connection-edit",
        "POST",
        console_write(ok(302, "/console/connections/{aws_connection}/")),
        kwargs={"connection_id": "{aws_connection}"},
        data={"name": "Default", "regions": "us-east-1, eu-west-1", "make_default": "on"},
        audit=("aws_connection.updated",),
        sync=True,
    ),
    Row(
        "console:connection-check",
        "POST",
        console_write(ok(302, "/console/connections/{aws_connection}/")),
        kwargs={"connection_id": "{aws_connection}"},
        audit=("aws_connection.check_requested",),
        sync=True,
    ),
    Row(
        "console:connection-delete",
        "POST",
        console_write(ok(302, "/console/connections/")),
        kwargs={"connection_id": "{partner_connection}"},
        audit=("aws_connection.deleted",),
    ),
    # The default connection stays: the admin is sent back to it with the reason.
    Row(
        "console:connection-delete",
        "POST",
        console_write(no(302, "/console/connections/{aws_connection}/")),
        kwargs={"connection_id": "{aws_connection}"},
        variant="the default",
    ),
    # API Gateway's ceilings per account and region: staff read
    Row("console:capacity", "GET", CONSOLE_READ),
    Row("console:tiers", "GET", CONSOLE_READ),
    Row("console:tier-create", "GET", CONSOLE_FORM),
    Row(
        "console:tier-create",
        "POST",
        console_write(ok(302, "/console/tiers/")),
        data=TIER_FORM,
        audit=("tier.created",),
        sync=True,
    ),
    Row("console:tier-edit", "GET", CONSOLE_FORM, kwargs={"plan_id": "{tier}"}),
    Row(
        "console:tier-edit",
        "POST",
        console_write(ok(302, "/console/tiers/")),
        kwargs={"plan_id": "{tier}"},
        data=PREMIUM_FORM,
        audit=("tier.updated",),
        sync=True,
    ),
    Row(
        "console:tier-archive",
        "POST",
        console_write(ok(302, "/console/tiers/")),
        kwargs={"plan_id": "{tier}"},
        audit=("tier.archived",),
        sync=True,
    ),
    # The queue of tier requests: staff read it, admins decide. An approval starts the
    # subscription (the keys follow on commit); a rejection only emails the owners (on commit).
    Row(
        "console:tier-requests",
        "GET",
        (LOGIN, 403, 403, 403, ok(contains=("Acme", "We need more")), ok(contains=("Acme",))),
        prepare="enterprise_requested",
    ),
    Row(
        "console:tier-request-approve",
        "POST",
        console_write(ok(302, "/console/tier-requests/")),
        kwargs={"request_id": "{acme_tier_request}"},
        audit=("subscription.started", "tier_request.approved"),
        sync=True,
        prepare="enterprise_requested",
    ),
    Row(
        "console:tier-request-reject",
        "POST",
        console_write(ok(302, "/console/tier-requests/")),
        kwargs={"request_id": "{acme_tier_request}"},
        data={"reason": "Tell us more about your traffic"},
        audit=("tier_request.rejected",),
        sync=True,
        prepare="enterprise_requested",
    ),
    Row(
        "console:tier-request-reject",
        "POST",
        console_write(no(302, "/console/tier-requests/")),
        kwargs={"request_id": "{acme_tier_request}"},
        data={"reason": " "},
        prepare="enterprise_requested",
        variant="no reason",
    ),
    Row("console:customers", "GET", CONSOLE_READ),
    Row("console:customer", "GET", CONSOLE_READ, kwargs={"customer_id": "{acme}"}),
    # Staff may place a customer on any tier, approval-only ones included.
    Row(
        "console:customer-tier",
        "POST",
        console_write(ok(302, "/console/customers/{acme}/")),
        kwargs={"customer_id": "{acme}"},
        data={"plan": "{approval_tier}"},
        audit=("subscription.started",),
        sync=True,
    ),
    Row("console:customer-usage", "GET", CONSOLE_READ, kwargs={"customer_id": "{acme}"}),
    # UpdateUsage is called at once (stubbed): an audit event, no task.
    Row(
        "console:grant-quota",
        "POST",
        console_write(ok(302, "/console/customers/{acme}/usage/")),
        kwargs={"customer_id": "{acme}", "key_id": "{acme_key_pk}"},
        data={"extra": "500"},
        audit=("key.quota_extended",),
    ),
    # The upload form (and the recent imports): a write's form, so not for ops.
    Row("console:key-import", "GET", CONSOLE_FORM),
    Row(
        "console:key-import",
        "POST",
        console_write(ok(302, "/console/keys/import/")),
        upload=KEYS_CSV,
        audit=("keys.import_started",),
        sync=True,
    ),
    Row(
        "console:key-import-detail",
        "GET",
        (LOGIN, 403, 403, 403, 200, 200),
        kwargs={"import_id": "{key_import}"},
    ),
    Row(
        "console:key-import-progress",
        "GET",
        (LOGIN, 403, 403, 403, 200, 200),
        kwargs={"import_id": "{key_import}"},
    ),
    Row(
        "console:key-import-report",
        "GET",
        (LOGIN, 403, 403, 403, 200, 200),
        kwargs={"import_id": "{key_import}"},
    ),
    Row(
        "console:key-import-resume",
        "POST",
        console_write(ok(302, "/console/keys/import/{key_import}/")),
        kwargs={"import_id": "{key_import}"},
        audit=("keys.import_resumed",),
        sync=True,
        changes=False,
    ),
    # --- bulk tier moves (plans/moves.py): staff read, admins start, cancel and resume ------------
    Row("console:tier-moves", "GET", CONSOLE_READ),
    Row("console:tier-move-new", "GET", CONSOLE_FORM),
    Row(
        "console:tier-move-new",
        "POST",
        console_write(ok(302, "/console/tiers/moves/")),
        data=TIER_MOVE,
        audit=("tier_move.started",),
        sync=True,
    ),
    Row(
        "console:tier-move",
        "GET",
        CONSOLE_READ,
        kwargs={"move_id": "{tier_move}"},
        prepare="tier_move_running",
    ),
    Row(
        "console:tier-move-progress",
        "GET",
        CONSOLE_READ,
        kwargs={"move_id": "{tier_move}"},
        prepare="tier_move_running",
    ),
    Row(
        "console:tier-move-cancel",
        "POST",
        console_write(ok(302, "/console/tiers/moves/{tier_move}/")),
        kwargs={"move_id": "{tier_move}"},
        audit=("tier_move.cancelled",),
        prepare="tier_move_running",
    ),
    Row(
        "console:tier-move-resume",
        "POST",
        console_write(ok(302, "/console/tiers/moves/{tier_move}/")),
        kwargs={"move_id": "{tier_move}"},
        audit=("tier_move.resumed",),
        sync=True,
        changes=False,
        prepare="tier_move_running",
    ),
    Row("console:metrics", "GET", CONSOLE_READ),
    # --- the audit log: staff read every organisation's events, owners their own's -------------
    Row(
        "audit:console",
        "GET",
        (LOGIN, 403, 403, 403, AUDIT_ALL, AUDIT_ALL),
    ),
    Row("audit:console-csv", "GET", (LOGIN, 403, 403, 403, AUDIT_ALL, AUDIT_ALL)),
    # bob owns Globex: he reads Globex's events, never Acme's.
    Row("audit:app", "GET", customer_read(AUDIT_ACME, AUDIT_GLOBEX), member=OWNER_ONLY),
    Row("audit:app-csv", "GET", customer_read(AUDIT_ACME, AUDIT_GLOBEX), member=OWNER_ONLY),
    Row("console:import", "GET", CONSOLE_READ),
    # A usage plan made outside Tollgate (GetUsagePlan stubbed) becomes a tier of a new customer.
    Row(
        "console:import-plan",
        "POST",
        console_write(ok(302, "/console/customers/")),
        kwargs={"aws_plan_id": "{foreign_plan}"},
        data={"new_customer": "Initech", "tier_name": "Legacy"},
        audit=("customer.created", "subscription.started", "tier.adopted"),
        sync=True,
    ),
    Row("console:drift", "GET", CONSOLE_READ),
    Row(
        "console:reconcile-now",
        "POST",
        console_write(ok(302, "/console/sync/")),
        audit=("reconcile.requested",),
        sync=True,
        changes=False,
    ),
    Row(
        "console:drift-settle",
        "POST",
        console_write(ok(302, "/console/sync/")),
        kwargs={"kind": "key", "object_id": "{drifted_key_pk}", "side": "ours"},
        audit=("drift.pushed_ours",),
        sync=True,
    ),
    Row(
        "console:sync-status",
        "GET",
        CONSOLE_READ,
        kwargs={"kind": "key", "object_id": "{acme_key_pk}"},
    ),
    Row(
        "console:sync-retry",
        "POST",
        console_write(ok(302, "/console/")),
        kwargs={"kind": "key", "object_id": "{acme_key_pk}"},
        audit=("key.sync_retried",),
        sync=True,
    ),
    # --- personal access tokens (/settings/tokens/) ---------------------------------------------
    # Everyone signed in manages their own tokens - ops too: a token is how ops read the API, a
    # personal setting and not a change to the product. Another person's token is a 404 for
    # everyone, staff included.
    Row("tokens:list", "GET", (LOGIN, 200, 200, 200, 200, 200)),
    Row(
        "tokens:list",
        "POST",
        (LOGIN, ok(200), ok(200), ok(200), ok(200), ok(200)),
        data={"name": "laptop", "scope": "read", "expires_in": "30"},
        audit=("token.created",),
    ),
    Row(
        "tokens:revoke",
        "POST",
        (LOGIN, 404, ok(302, "/settings/tokens/"), 404, 404, 404),
        kwargs={"token_id": "{alice_token}"},
        member=404,
        audit=("token.revoked",),
    ),
    # Every person's tokens in the console: staff read them all, only admins revoke (ops may not).
    Row(
        "console-tokens:list",
        "GET",
        (LOGIN, 403, 403, 403, ALICE_TOKEN_SEEN, ALICE_TOKEN_SEEN),
    ),
    Row(
        "console-tokens:revoke",
        "POST",
        console_write(ok(302, "/console/tokens/")),
        kwargs={"token_id": "{alice_token}"},
        audit=("token.revoked",),
    ),
    # --- the REST API (/api/v1/) ----------------------------------------------------------------
    # Tokens: staff list everyone's, anyone else their own; a person revokes their own, admins
    # anyone's, ops nobody's (the API refuses every ops write).
    Row(
        "v1:token-list",
        "GET",
        (401, ALICE_TOKEN_HIDDEN, ALICE_TOKEN_LISTED, ALICE_TOKEN_HIDDEN, 200, 200),
        member=ALICE_TOKEN_HIDDEN,
    ),
    Row(
        "v1:token-detail",
        "GET",
        (401, 404, 200, 404, 200, 200),
        kwargs={"pk": "{alice_token}"},
        member=404,
    ),
    Row(
        "v1:token-revoke",
        "POST",
        (401, 404, ok(200), 404, 403, ok(200)),
        kwargs={"pk": "{alice_token}"},
        member=404,
        audit=("token.revoked",),
    ),
    Row("v1:me", "GET", (401, 200, 200, 200, 200, 200)),
    # The organisation one works in: staff have none (403); bob reads and changes Globex's.
    Row(
        "v1:organisation-settings",
        "GET",
        (
            401,
            403,
            ok(contains=('"Acme"', '"require_mfa":false')),
            ok(contains=('"Globex"',), lacks=('"Acme"',)),
            403,
            403,
        ),
    ),
    Row(
        "v1:organisation-settings",
        "PATCH",
        (401, 403, ok(200), ok(200), 403, 403),
        data={"require_mfa": True},
        audit=("customer.mfa_required",),
        member=OWNER_ONLY,
    ),
    Row(
        "v1:organisation-settings",
        "PATCH",
        (401, 403, ok(200), ok(200), 403, 403),
        data={"disable_idle_keys": True, "leaked_key_action": "roll"},
        audit=("customer.key_settings_changed",),
        member=OWNER_ONLY,
        variant="key settings",
    ),
    # Staff are in no organisation: admins are told so (404), ops change nothing (403).
    Row(
        "v1:me-organisation",
        "POST",
        (401, 404, ok(200), 404, 403, 404),
        data={"customer": "{acme}"},
    ),
    # Bob names Acme: not found. Staff must name the customer; admins may use any live tier.
    Row(
        "v1:subscription-switch",
        "POST",
        (401, 403, ok(200), 404, 403, ok(200)),
        data={"tier": "premium", "customer": "{acme}"},
        member=OWNER_ONLY,
        audit=("subscription.started",),
        sync=True,
    ),
    Row(
        "v1:subscription-switch",
        "POST",
        (401, 403, no(CLIENT_ERROR, contains=("needs approval",)), 404, 403, ok(200)),
        data={"tier": "enterprise", "customer": "{acme}"},
        member=OWNER_ONLY,
        audit=("subscription.started",),
        sync=True,
        variant="approval tier",
    ),
    Row(
        "v1:subscription-switch",
        "POST",
        (401, 403, no(CLIENT_ERROR), 404, 403, ok(200)),
        data={"tier": "{unlisted_slug}", "customer": "{acme}"},
        audit=("subscription.started",),
        sync=True,
        variant="unlisted tier",
    ),
    # Tier requests: customers read their organisation's, an owner asks and withdraws; admins
    # decide. Emails go on commit (`sync`); only an approval moves keys in AWS.
    Row(
        "v1:tier-request-list",
        "GET",
        customer_api_read(ok(contains=('"enterprise"',)), ok(lacks=('"enterprise"',))),
        prepare="enterprise_requested",
    ),
    Row(
        "v1:tier-request-list",
        "POST",
        (401, 403, ok(201), 404, 403, ok(201)),
        data={"tier": "enterprise", "customer": "{acme}", "message": "We launch next month"},
        member=OWNER_ONLY,
        audit=("tier_request.created",),
        sync=True,
    ),
    Row(
        "v1:tier-request-list",
        "POST",
        (401, 403, no(409), 404, 403, no(409)),
        data={"tier": "enterprise", "customer": "{acme}"},
        member=OWNER_ONLY,
        prepare="enterprise_requested",
        variant="one pending already",
    ),
    Row(
        "v1:tier-request-detail",
        "GET",
        customer_api_read(),
        kwargs={"pk": "{acme_tier_request}"},
        prepare="enterprise_requested",
    ),
    Row(
        "v1:tier-request-withdraw",
        "POST",
        (401, 403, ok(200), 404, 403, ok(200)),
        kwargs={"pk": "{acme_tier_request}"},
        member=OWNER_ONLY,
        audit=("tier_request.withdrawn",),
        prepare="enterprise_requested",
    ),
    Row(
        "v1:tier-request-approve",
        "POST",
        admin_api(ok(200)),
        kwargs={"pk": "{acme_tier_request}"},
        audit=("subscription.started", "tier_request.approved"),
        sync=True,
        prepare="enterprise_requested",
    ),
    Row(
        "v1:tier-request-reject",
        "POST",
        admin_api(ok(200)),
        kwargs={"pk": "{acme_tier_request}"},
        data={"reason": "Tell us more about your traffic"},
        audit=("tier_request.rejected",),
        sync=True,
        prepare="enterprise_requested",
    ),
    Row(
        "v1:tier-request-reject",
        "POST",
        admin_api(no(400)),
        kwargs={"pk": "{acme_tier_request}"},
        data={"reason": ""},
        prepare="enterprise_requested",
        variant="no reason",
    ),
    Row("v1:metrics", "GET", STAFF_API),
    Row("v1:sync-status", "GET", STAFF_API),
    Row(
        "v1:sync-reconcile",
        "POST",
        admin_api(ok(202)),
        audit=("reconcile.requested",),
        sync=True,
        changes=False,
    ),
    Row("v1:sync-drift", "GET", STAFF_API),
    Row("v1:foreign-usage-plan-list", "GET", STAFF_API),
    Row(
        "v1:foreign-usage-plan-adopt",
        "POST",
        admin_api(ok(201)),
        kwargs={"aws_id": "{foreign_plan}"},
        data={"new_customer": "Initech", "tier_name": "Legacy"},
        audit=("customer.created", "subscription.started", "tier.adopted"),
        sync=True,
    ),
    Row("v1:capacity", "GET", STAFF_API),
    Row("v1:aws-connection-list", "GET", STAFF_API),
    Row(
        "v1:aws-connection-list",
        "POST",
        admin_api(ok(201)),
        data={"name": "Europe", "regions": ["eu-west-1"]},
        audit=("aws_connection.created",),
        sync=True,
    ),
    Row("v1:aws-connection-detail", "GET", STAFF_API, kwargs={"pk": "{aws_connection}"}),
    Row(
        "v1:aws-connection-detail",
        "PATCH",
        admin_api(ok(200)),
        kwargs={"pk": "{partner_connection}"},
        data={"regions": ["eu-west-1", "us-east-1"]},
        audit=("aws_connection.updated",),
        sync=True,
    ),
    Row(
        "v1:aws-connection-detail",
        "DELETE",
        admin_api(ok(204)),
        kwargs={"pk": "{partner_connection}"},
        audit=("aws_connection.deleted",),
    ),
    Row(
        "v1:aws-connection-detail",
        "DELETE",
        admin_api(no(409)),
        kwargs={"pk": "{aws_connection}"},
        variant="the default",
    ),
    Row(
        "v1:aws-connection-check",
        "POST",
        admin_api(ok(202)),
        kwargs={"pk": "{aws_connection}"},
        audit=("aws_connection.check_requested",),
        sync=True,
    ),
    Row("v1:stage-list", "GET", STAFF_API),
    Row("v1:stage-detail", "GET", STAFF_API, kwargs={"pk": "{stage}"}),
    Row(
        "v1:stage-refresh",
        "POST",
        admin_api(ok(202)),
        audit=("stages.refresh_requested",),
        sync=True,
        changes=False,
    ),
    Row(
        "v1:stage-detail",
        "PATCH",
        admin_api(ok(200)),
        kwargs={"pk": "{stage_offline}"},
        data={"available": True},
        audit=("stage.offered",),
        sync=True,
    ),
    Row(
        "v1:tier-list",
        "GET",
        (
            401,
            403,
            LISTED_TIERS,
            LISTED_TIERS,
            ok(contains=('"enterprise"', '"partner"')),
            ok(contains=('"enterprise"', '"partner"')),
        ),
    ),
    Row(
        "v1:tier-list",
        "POST",
        admin_api(ok(201)),
        data=TIER_JSON,
        audit=("tier.created",),
        sync=True,
    ),
    Row(
        "v1:tier-detail",
        "GET",
        (
            401,
            403,
            200,
            200,
            200,
            200,
        ),
        kwargs={"slug": "{approval_slug}"},
    ),
    Row(
        "v1:tier-detail",
        "GET",
        (401, 403, 404, 404, 200, 200),
        kwargs={"slug": "{unlisted_slug}"},
        variant="unlisted tier",
    ),
    Row(
        "v1:tier-detail",
        "PATCH",
        admin_api(ok(200)),
        kwargs={"slug": "{tier_slug}"},
        data={"description": "Changed through the API"},
        audit=("tier.updated",),
        sync=True,
    ),
    Row(
        "v1:tier-archive",
        "POST",
        admin_api(ok(200)),
        kwargs={"slug": "{tier_slug}"},
        audit=("tier.archived",),
        sync=True,
    ),
    Row(
        "v1:tier-retry-sync",
        "POST",
        admin_api(ok(202)),
        kwargs={"slug": "{tier_slug}"},
        audit=("tier.sync_retried",),
        sync=True,
    ),
    Row(
        "v1:customer-list",
        "GET",
        customer_api_read(ok(contains=('"Acme"',)), ok(contains=('"Globex"',), lacks=('"Acme"',))),
    ),
    Row("v1:customer-detail", "GET", customer_api_read(), kwargs={"pk": "{acme}"}),
    Row(
        "v1:membership-list",
        "GET",
        customer_api_read(ok(contains=("alice@acme.test",)), ok(lacks=("alice@acme.test",))),
    ),
    Row("v1:membership-detail", "GET", customer_api_read(), kwargs={"pk": "{membership}"}),
    Row(
        "v1:membership-detail",
        "PATCH",
        (401, 403, ok(200), 404, 403, ok(200)),
        member=OWNER_ONLY,
        kwargs={"pk": "{maria_membership}"},
        data={"role": "owner"},
        audit=("membership.role_changed",),
    ),
    Row(
        "v1:membership-detail",
        "DELETE",
        (401, 403, ok(204), 404, 403, ok(204)),
        member=no(400, contains=("leave",)),  # her own: leaving is its own action
        kwargs={"pk": "{maria_membership}"},
        audit=("membership.removed",),
    ),
    # The last owner can be neither removed nor demoted, not even by an admin.
    Row(
        "v1:membership-detail",
        "DELETE",
        (401, 403, no(400, contains=("leave",)), 404, 403, no(400, contains=("last owner",))),
        member=OWNER_ONLY,
        kwargs={"pk": "{membership}"},
        variant="last owner",
    ),
    Row(
        "v1:membership-leave",
        "POST",
        (401, 403, no(403), 404, 403, no(403)),
        member=ok(204),
        kwargs={"pk": "{maria_membership}"},
        audit=("membership.left",),
    ),
    Row(
        "v1:membership-transfer-ownership",
        "POST",
        (401, 403, ok(200), 404, 403, no(403)),  # from one owner to another: admins just set roles
        member=OWNER_ONLY,
        kwargs={"pk": "{maria_membership}"},
        audit=("membership.role_changed", "membership.role_changed"),
    ),
    Row(
        "v1:invitation-list",
        "GET",
        customer_api_read(ok(contains=("dave@invited.test",)), ok(lacks=("dave@invited.test",))),
    ),
    Row("v1:invitation-detail", "GET", customer_api_read(), kwargs={"pk": "{dave_invitation}"}),
    Row(
        "v1:invitation-list",
        "POST",
        (401, 403, ok(201), 404, 403, ok(201)),
        member=OWNER_ONLY,
        data={"email": "new@example.test", "role": "member", "customer": "{acme}"},
        audit=("invitation.created",),
        sync=True,  # the email, sent on commit
    ),
    Row(
        "v1:invitation-resend",
        "POST",
        (401, 403, ok(200), 404, 403, ok(200)),
        member=OWNER_ONLY,
        kwargs={"pk": "{dave_invitation}"},
        audit=("invitation.resent",),
        sync=True,  # the email, sent on commit
    ),
    Row(
        "v1:invitation-revoke",
        "POST",
        (401, 403, ok(200), 404, 403, ok(200)),
        member=OWNER_ONLY,
        kwargs={"pk": "{dave_invitation}"},
        audit=("invitation.revoked",),
    ),
    Row("v1:subscription-list", "GET", customer_api_read(200, 200)),
    Row("v1:subscription-detail", "GET", customer_api_read(), kwargs={"pk": "{subscription}"}),
    Row(
        "v1:key-list",
        "GET",
        customer_api_read(ok(contains=("{acme_key}",)), ok(lacks=("{acme_key}",))),
    ),
    Row(
        "v1:key-list",
        "POST",
        (401, 403, ok(201), 404, 403, ok(201)),
        data={"name": "CI", "customer": "{acme}"},
        audit=("key.created",),
        sync=True,
    ),
    Row("v1:key-detail", "GET", customer_api_read(), kwargs=API_KEY),
    Row(
        "v1:key-detail",
        "PATCH",
        (401, 403, ok(200), 404, 403, ok(200)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        data={"name": "renamed"},
        audit=("key.renamed",),
        sync=True,
    ),
    Row(
        "v1:key-detail",
        "PATCH",
        (401, 403, ok(200), 404, 403, ok(200)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        data={"enabled": False},
        audit=("key.disabled",),
        sync=True,
        variant="disable",
    ),
    Row(
        "v1:key-detail",
        "PATCH",
        (401, 403, ok(200), 404, 403, ok(200)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        data={"expires_at": f"{EXPIRY}Z"},
        audit=("key.expiry_set",),
        sync=True,
        variant="expiry",
    ),
    Row(
        "v1:key-detail",
        "DELETE",
        (401, 403, ok(204), 404, 403, ok(204)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        audit=("key.revoked",),
        sync=True,
    ),
    Row(
        "v1:key-revoke",
        "POST",
        (401, 403, ok(200), 404, 403, ok(200)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        audit=("key.revoked",),
        sync=True,
    ),
    Row(
        "v1:key-rotate",
        "POST",
        (401, 403, ok(201), 404, 403, ok(201)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        data={"grace": "24h"},
        audit=("key.rotated",),
        sync=True,
    ),
    Row(
        "v1:key-retry-sync",
        "POST",
        (401, 403, ok(202), 404, 403, ok(202)),
        kwargs=API_KEY,
        member=NOT_CREATOR,
        audit=("key.sync_retried",),
        sync=True,
    ),
    # A secret scanner's report takes a leak-report token only (scope "leaks", made by admins):
    # every write token here is refused, an admin's too. tests/keys/test_leak_reports.py has the
    # leak token's side (it gets in here and nowhere else).
    Row(
        "v1:key-leaked",
        "POST",
        (401, 403, 403, 403, 403, 403),
        data={"values": ["tgk00000000000000000000000000000000000000"]},
    ),
    # Only the key's creator may see its secret, once: not even an admin (README, "How API key
    # secrets travel").
    Row(
        "v1:key-reveal",
        "POST",
        (401, 403, ok(200, contains=(SECRET,)), 404, 403, 403),
        kwargs=API_KEY,
        member=no(403, contains=("created",)),
        audit=("key.secret_revealed",),
    ),
    Row(
        "v1:key-reveal",
        "POST",
        (
            401,
            403,
            no(410, contains=("already been shown",)),
            404,
            403,
            403,
        ),
        kwargs=API_KEY,
        member=no(403, contains=("created",)),
        prepare="secret_shown",
        variant="shown already",
    ),
    # Extra quota is the console's, through the API: staff only (customers 403 before any lookup).
    Row(
        "v1:key-extra-quota",
        "POST",
        admin_api(ok(200)),
        kwargs=API_KEY,
        data={"requests": 500},
        audit=("key.quota_extended",),
    ),
    Row("v1:key-import-list", "GET", STAFF_API),
    Row(
        "v1:key-import-list",
        "POST",
        admin_api(ok(201)),
        data={"csv": KEYS_CSV.decode(), "file_name": "keys.csv"},
        audit=("keys.import_started",),
        sync=True,
    ),
    Row("v1:key-import-detail", "GET", STAFF_API, kwargs={"pk": "{key_import}"}),
    Row(
        "v1:key-import-resume",
        "POST",
        admin_api(ok(202)),
        kwargs={"pk": "{key_import}"},
        audit=("keys.import_resumed",),
        sync=True,
        changes=False,
    ),
    Row("v1:tier-move-list", "GET", STAFF_API),
    Row(
        "v1:tier-move-list",
        "POST",
        admin_api(ok(201)),
        data=TIER_MOVE,
        audit=("tier_move.started",),
        sync=True,
    ),
    Row(
        "v1:tier-move-list",
        "POST",
        admin_api(no(400)),
        data={"from_tier": "free", "to_tier": "free"},
        variant="the same tier",
    ),
    Row(
        "v1:tier-move-detail",
        "GET",
        STAFF_API,
        kwargs={"pk": "{tier_move}"},
        prepare="tier_move_running",
    ),
    Row(
        "v1:tier-move-cancel",
        "POST",
        admin_api(ok(200)),
        kwargs={"pk": "{tier_move}"},
        audit=("tier_move.cancelled",),
        prepare="tier_move_running",
    ),
    Row(
        "v1:tier-move-resume",
        "POST",
        admin_api(ok(202)),
        kwargs={"pk": "{tier_move}"},
        audit=("tier_move.resumed",),
        sync=True,
        changes=False,
        prepare="tier_move_running",
    ),
    Row("v1:usage-day-list", "GET", customer_api_read(200, 200)),
    Row(
        "v1:usage-summary-list",
        "GET",
        customer_api_read(ok(contains=('"Acme"',)), ok(lacks=('"Acme"',))),
    ),
    Row("v1:drift-tier-list", "GET", STAFF_API),
    Row(
        "v1:drift-tier-settle",
        "POST",
        admin_api(ok(200)),
        kwargs={"slug": "{approval_slug}"},
        data={"side": "ours"},
        audit=("drift.pushed_ours",),
        sync=True,
    ),
    Row("v1:drift-key-list", "GET", STAFF_API),
    Row(
        "v1:drift-key-settle",
        "POST",
        admin_api(ok(200)),
        kwargs={"id": "{drifted_key}"},
        data={"side": "ours"},
        audit=("drift.pushed_ours",),
        sync=True,
    ),
    # Any other path under /api/: the API's own JSON 404, whoever asks (there is nothing there).
    Row("api/^.*$", "GET", everyone(404), path="/api/v2/keys"),
]
