from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (the type checker's view of it)."""

    htmx: HtmxDetails


def client_ip(request: HttpRequest) -> str | None:
    """The address recorded in audit events."""
    return request.META.get("REMOTE_ADDR") or None
