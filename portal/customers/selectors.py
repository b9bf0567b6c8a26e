import base64
import binascii
import json
import re
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db.models import F, Q, QuerySet

from portal.accounts.models import User
from portal.customers.models import Customer, Invitation, Membership


def memberships_of(user: User) -> QuerySet[Membership]:
    """A person's organisations, the one they chose last first (then the oldest)."""
    return user.memberships.select_related("customer").order_by(
        F("selected_at").desc(nulls_last=True), "created_at", "pk"
    )


def invitations_for(user: User) -> QuerySet[Invitation]:
    """Pending invitations to this person's verified address (the one they can prove)."""
    confirmed = EmailAddress.objects.filter(user=user, verified=True)
    verified = [email.lower() for email in confirmed.values_list("email", flat=True)]
    return (
        Invitation.objects.pending()
        .filter(email__in=verified)
        .select_related("customer", "invited_by")
    )


# --- the staff customer list --------------------------------------------------------------------

SEARCH_MAX_LENGTH = 100  # as long as a name; longer text finds nothing a shorter one would not


ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def customers_matching(customers: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """What an ops person types to find an organisation: part of its name or slug, a person's
    whole address (`jane@acme.com`: an index lookup, addresses are kept in lower case), or part
    of one (`@acme.com`, `acme.com`). Parts of addresses are searched only for text that looks
    like one: a fragment of a name would match too many people, at the cost of reading all."""
    text = text.strip()[:SEARCH_MAX_LENGTH]
    if not text:
        return customers
    # Subqueries, not joins: a customer with two matching people is one row.
    if ADDRESS.fullmatch(text):
        whole = Membership.objects.filter(user__email=text.lower()).values("customer_id")
        return customers.filter(pk__in=whole)
    part = Membership.objects.filter(user__email__icontains=text).values("customer_id")
    if "@" in text:
        return customers.filter(pk__in=part)  # no name or slug has an @: no need to read them
    found = Q(name__icontains=text) | Q(slug__icontains=text)
    if "." in text and " " not in text:
        found |= Q(pk__in=part)
    return customers.filter(found)


class BadCursor(ValueError):
    """A page link that was cut short or edited: no position can be read from it."""


def encode_cursor(customer: Customer) -> str:
    raw = json.dumps([customer.name, customer.pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, pk = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc
    if not isinstance(name, str) or type(pk) is not int or not 0 < pk < 2**63:
        raise BadCursor(cursor)
    return name, pk


CUSTOMER_ORDER = ("name", "pk")  # the index customer_name_order


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_cursor: str | None  # `?after=`: the page after this one
    previous_cursor: str | None  # `?before=`: the page before this one


def customer_page(
    customers: QuerySet[Customer],
    *,
    after: str | None = None,
    before: str | None = None,
    size: int = 50,
) -> CustomerPage:
    """One page of `customers` by name (then id), from a position rather than an offset: page
    200 costs what page 1 costs, and a customer added meanwhile shifts no row onto two pages.
    Raises BadCursor for a position that cannot be read."""
    if before:
        name, pk = decode_cursor(before)
        # `name <= x` as well as the row comparison: the index scan starts at x, not at "A".
        rows = list(
            customers.filter(Q(name__lt=name) | Q(name=name, pk__lt=pk), name__lte=name).order_by(
                "-name", "-pk"
            )[: size + 1]
        )
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return CustomerPage(
            rows,
            next_cursor=encode_cursor(rows[-1]) if rows else None,
            previous_cursor=encode_cursor(rows[0]) if more_before else None,
        )
    ordered = customers.order_by(*CUSTOMER_ORDER)
    if after:
        name, pk = decode_cursor(after)
        ordered = ordered.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk), name__gte=name)
    rows = list(ordered[: size + 1])
    more_after = len(rows) > size
    rows = rows[:size]
    return CustomerPage(
        rows,
        next_cursor=encode_cursor(rows[-1]) if more_after else None,
        # After a position there is at least the row at it: a previous page.
        previous_cursor=encode_cursor(rows[0]) if after and rows else None,
    )
