"""Requests for approval-only tiers: an owner asks, an admin approves or rejects.

Only an approval changes anything in AWS: it starts the subscription through the same path as a
switch (plans.services.subscription_switch), so the keys follow through `subscription_started`
(keys/receivers.py) and are sent to API Gateway on commit. Every write here records one audit
event of its own; the people concerned are emailed once the transaction commits.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from plans.models import MAX_TEXT, Plan, TierRequest, TierRequestState
from plans.selectors import active_subscription
from plans.services import subscription_switch
from portal.access import may_change_anything, require_organisation_manager
from portal.accounts.models import StaffRole, User
from portal.audit.services import audit
from portal.customers.models import Customer, Membership, MembershipRole
from portal.errors import NoLongerAvailable, NotAllowed, NotReady

OWNER_ONLY = "Only an owner of {organisation} can request a tier; ask one of its owners."
ADMIN_ONLY = "Only Tollgate admins can decide on tier requests."


def _text(value: str | None, field: str, *, required: str = "") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({field: [required]})
    if len(text) > MAX_TEXT:
        raise ValidationError({field: [f"Keep it under {MAX_TEXT:,} characters."]})
    return text


def _mail_on_commit(template: str, subject: str, recipients: list[str], **context: Any) -> None:
    """A plain-text email, sent only if the change commits (a rolled-back change sends none). A
    mail server that fails is logged and changes nothing (robust): the decision stands."""
    if not recipients:
        return
    body = render_to_string(template, context)

    def send() -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)

    transaction.on_commit(send, robust=True)


def _owner_emails(customer: Customer) -> list[str]:
    return list(
        Membership.objects.filter(
            customer=customer, role=MembershipRole.OWNER, user__is_active=True
        ).values_list("user__email", flat=True)
    )


def _admin_emails() -> list[str]:
    admins = User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(staff_role=StaffRole.ADMIN)
    )
    return list(admins.order_by("email").values_list("email", flat=True))


def _pending(request: TierRequest) -> TierRequest:
    """The request, locked, if it is still waiting; a decided one cannot be decided again."""
    locked = TierRequest.objects.select_for_update().select_related("customer", "plan")
    found = locked.get(pk=request.pk)
    if not found.is_pending:
        raise NoLongerAvailable(f"This request was {found.get_state_display().lower()} already.")
    return found


@transaction.atomic
def tier_request_create(
    *, actor: Any, customer: Customer, plan: Plan, message: str = "", ip: str | None = None
) -> TierRequest:
    """An owner asks for an approval-only tier. Nothing reaches AWS until an admin approves."""
    require_organisation_manager(actor, customer, OWNER_ONLY)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one request at a time
    plan = Plan.objects.get(pk=plan.pk)
    if plan.is_archived or not plan.listed:
        raise ValidationError({"plan": ["That tier is not offered."]})
    if plan.self_serve:
        raise ValidationError(
            {"plan": [f"The {plan.name} tier needs no approval: switch to it on your tier page."]}
        )
    current = active_subscription(customer)
    if current is not None and current.plan_id == plan.pk:
        raise ValidationError({"plan": [f"{customer.name} is already on the {plan.name} tier."]})
    text = _text(message, "message")
    waiting = TierRequest.objects.pending().filter(customer=customer).select_related("plan").first()
    if waiting is not None:
        raise NotReady(
            f"{customer.name} already asked for the {waiting.plan.name} tier; wait for the "
            "answer, or withdraw that request first."
        )
    request = TierRequest.objects.create(
        customer=customer,
        plan=plan,
        requested_by=actor if getattr(actor, "pk", None) else None,
        message=text,
    )
    audit(
        actor=actor,
        action="tier_request.created",
        target=request,
        after={**request.snapshot(), "message": text},
        ip=ip,
    )
    _mail_on_commit(
        "plans/tier_request_created.txt",
        f"Tollgate: {customer.name} asks for the {plan.name} tier",
        _admin_emails(),
        request=request,
        customer=customer,
        plan=plan,
        current=current,
        actor=actor,
    )
    return request


def _decide(
    request: TierRequest,
    state: str,
    *,
    actor: Any,
    ip: str | None,
    reason: str = "",
) -> TierRequest:
    """Close a pending request (withdrawn, approved, rejected): who, when, and its audit event."""
    before = request.snapshot()
    request.state = state
    request.reason = reason or request.reason
    request.decided_by = actor if getattr(actor, "pk", None) else None
    request.decided_at = timezone.now()
    request.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    after = {**request.snapshot(), **({"reason": reason} if reason else {})}
    audit(
        actor=actor,
        action=f"tier_request.{state}",
        target=request,
        before=before,
        after=after,
        ip=ip,
    )
    return request


@transaction.atomic
def tier_request_withdraw(
    *, actor: Any, request: TierRequest, ip: str | None = None
) -> TierRequest:
    """The organisation takes its pending request back."""
    require_organisation_manager(actor, request.customer, OWNER_ONLY)
    return _decide(_pending(request), TierRequestState.WITHDRAWN, actor=actor, ip=ip)


@transaction.atomic
def tier_request_approve(*, actor: Any, request: TierRequest, ip: str | None = None) -> TierRequest:
    """An admin approves: the customer starts on the tier and every key of theirs moves to its
    usage plan (sent to API Gateway once this commits)."""
    if not may_change_anything(actor):
        raise NotAllowed(ADMIN_ONLY)
    request = _pending(request)
    if request.plan.is_archived:
        raise NotReady(f"The {request.plan.name} tier has been retired; reject the request.")
    current = active_subscription(request.customer)
    if current is None or current.plan_id != request.plan_id:  # an admin may have placed it
        subscription_switch(
            actor=actor, customer=request.customer, plan=request.plan, ip=ip, by_staff=True
        )
    request = _decide(request, TierRequestState.APPROVED, actor=actor, ip=ip)
    _mail_on_commit(
        "plans/tier_request_approved.txt",
        f"Tollgate: {request.customer.name} is now on the {request.plan.name} tier",
        _owner_emails(request.customer),
        request=request,
        customer=request.customer,
        plan=request.plan,
    )
    return request


@transaction.atomic
def tier_request_reject(
    *, actor: Any, request: TierRequest, reason: str, ip: str | None = None
) -> TierRequest:
    """An admin rejects, saying why (the customer reads the reason). Nothing changes in AWS."""
    if not may_change_anything(actor):
        raise NotAllowed(ADMIN_ONLY)
    text = _text(reason, "reason", required="Say why: the customer reads the reason.")
    request = _decide(_pending(request), TierRequestState.REJECTED, actor=actor, ip=ip, reason=text)
    _mail_on_commit(
        "plans/tier_request_rejected.txt",
        f"Tollgate: your request for the {request.plan.name} tier",
        _owner_emails(request.customer),
        request=request,
        customer=request.customer,
        plan=request.plan,
    )
    return request
