from django.db import transaction
from django.utils.text import slugify

from plans.services import subscription_start_default
from portal.accounts.models import User
from portal.audit.services import audit
from portal.customers.models import Customer, Membership, MembershipRole


def unique_customer_slug(name: str) -> str:
    base = slugify(name)[:100] or "org"
    slug, n = base, 1
    while Customer.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def customer_onboard(*, owner: User, organisation_name: str, ip: str | None = None) -> Customer:
    """A new organisation with its first owner, on the default self-serve tier."""
    name = organisation_name.strip()
    if not name:
        raise ValueError("An organisation name is required.")
    customer = Customer(name=name, slug=unique_customer_slug(name))
    customer.full_clean()
    customer.save()
    Membership.objects.create(user=owner, customer=customer, role=MembershipRole.OWNER)
    audit(actor=owner, action="customer.created", target=customer, after={"name": name}, ip=ip)
    subscription_start_default(actor=owner, customer=customer, ip=ip)
    return customer
