import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from portal.errors import Refused


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (the type checker's view of it)."""

    htmx: HtmxDetails


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The address recorded in audit events: the client's, as the trusted proxies saw it.

    With `TOLLGATE["TRUSTED_PROXY_COUNT"]` = N (env `TOLLGATE_TRUSTED_PROXY_COUNT`, default 0)
    N proxies stand in front of Tollgate, the nearest one being REMOTE_ADDR. Each appends the
    address it was connected from to X-Forwarded-For, so the right-most N hops of
    "X-Forwarded-For, REMOTE_ADDR" are proxies and the one before them — X-Forwarded-For's N-th
    entry from the right — is the client. Anything to the left of it is whatever the client
    chose to send, so it is never read. With 0, or a header too short or not an IP address
    there, REMOTE_ADDR is the answer.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR") or "")
    trusted = int(settings.TOLLGATE.get("TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(hops) < trusted or not hops[-trusted]:
        return remote
    return _valid_ip(hops[-trusted]) or remote


class RefusalMiddleware:
    """A service's refusal (portal.errors.Refused) that a page did not handle itself becomes a
    page with its message and status (403, 409, 410, 400), never a 500. The REST API answers its
    own (portal/rest/errors.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, Refused):
            return None
        return render(
            request,
            "refused.html",
            {"message": exception.message, "status": exception.status},
            status=exception.status,
        )
