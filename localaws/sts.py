"""STS AssumeRole the way AWS refuses it; moto lets anyone assume anything.

Moto's AssumeRole issues credentials for any ARN, whether the role exists or not, and never
reads the role's trust policy - so code reaching a second account would pass locally with a
wrong role name or a missing external id and fail in production. Here AssumeRole first
checks, as AWS does, and answers HTTP 403 ``AccessDenied`` with AWS's message
("User: <caller arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>")
when:

* the role does not exist in the account its ARN names;
* no ``Allow`` statement of its trust policy (``AssumeRolePolicyDocument``) names the
  caller as principal (``"*"``, the caller's account id or ``arn:aws:iam::ACCOUNT:root``,
  the caller's own ARN, or for an assumed-role caller its role's ARN) for ``sts:AssumeRole``
  with every condition met, or a matching ``Deny`` statement does.

Conditions: ``StringEquals`` / ``StringLike`` on ``sts:ExternalId`` are evaluated (a missing
ExternalId meets neither - the confused-deputy guard SaaS tools rely on, IAM User Guide "Access
to AWS accounts owned by third parties"). Any other condition is treated as not met: failing
closed keeps a policy we cannot evaluate from granting access locally that AWS might refuse.
The caller's identity policy is not checked (moto keeps no permissions for its default user).
Everything else about AssumeRole (the credentials, the assumed-role ARN, GetCallerIdentity of
those credentials answering the role's account) is moto's.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from werkzeug.wrappers import Response

from localaws.accounts import access_key_of
from localaws.wire import AwsCall, error_response

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/(?:.*/)?([^/]+)$")
_ASSUMED_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/")
_ACTIONS = frozenset({"sts:assumerole", "sts:*", "*"})


def answer(
    call: AwsCall, body: bytes, moto: Callable[[], Response], environ: Mapping[str, Any]
) -> Response:
    """AssumeRole refused as AWS refuses it, else moto's answer (every other STS call too)."""
    if call.operation != "AssumeRole":
        return moto()
    form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
    role_arn = form.get("RoleArn", "")
    caller = caller_arn(call, environ)
    if not may_assume(call.account, caller, role_arn, form.get("ExternalId")):
        message = (
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
        return error_response(call, 403, "AccessDenied", message)
    return moto()


def caller_arn(call: AwsCall, environ: Mapping[str, Any]) -> str:
    """The caller's ARN, as GetCallerIdentity would answer it."""
    backend = sts_backends[call.account]["aws"]
    _, arn, _ = backend.get_caller_identity(access_key_of(environ) or "", call.region)
    return str(arn)


def may_assume(account: str, caller: str, role_arn: str, external_id: str | None) -> bool:
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        return False
    role = _role(match.group(1), match.group(2))
    if role is None:
        return False
    try:
        policy = _policy(role.assume_role_policy_document)
    except ValueError:
        return False
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    principals = _caller_principals(account, caller)
    context = {"sts:externalid": external_id}
    applying = [s for s in statements if _applies(s, principals, context)]
    if any(str(s.get("Effect")) == "Deny" for s in applying):
        return False
    return any(str(s.get("Effect")) == "Allow" for s in applying)


def _role(account: str, name: str) -> Any:
    for role in iam_backends[account]["aws"].roles.values():
        if role.name == name:
            return role
    return None


def _policy(document: Any) -> dict[str, Any]:
    """The trust policy as a dict (moto may keep it URL-encoded, as IAM returns it)."""
    if isinstance(document, dict):
        return document
    text = str(document or "")
    if text.lstrip().startswith("%7B") or text.lstrip().startswith("%7b"):
        text = urllib.parse.unquote(text)
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("a trust policy is a JSON object")
    return parsed


def _caller_principals(account: str, caller: str) -> set[str]:
    names = {"*", account, f"arn:aws:iam::{account}:root", caller}
    assumed = _ASSUMED_ROLE_ARN.match(caller)
    if assumed is not None:
        names.add(f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/{assumed.group(3)}")
    return names


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _applies(
    statement: Mapping[str, Any], principals: set[str], context: dict[str, str | None]
) -> bool:
    actions = {a.lower() for a in _listed(statement.get("Action"))}
    if not actions & _ACTIONS:
        return False
    principal = statement.get("Principal")
    named = _listed(principal) if not isinstance(principal, dict) else _listed(principal.get("AWS"))
    if not set(named) & principals:
        return False
    return _conditions_met(statement.get("Condition") or {}, context)


def _conditions_met(conditions: Mapping[str, Any], context: dict[str, str | None]) -> bool:
    for operator, tests in conditions.items():
        if operator not in ("StringEquals", "StringLike") or not isinstance(tests, dict):
            return False
        for key, expected in tests.items():
            actual = context.get(str(key).lower())
            if actual is None:  # a key we do not evaluate, or a value the caller did not send
                return False
            wanted = _listed(expected)
            if operator == "StringEquals" and actual not in wanted:
                return False
            if operator == "StringLike" and not any(
                fnmatch.fnmatchcase(actual, pattern) for pattern in wanted
            ):
                return False
    return True
