"""The little of API Gateway's mapping-template language (VTL) the local gateway renders.

API Gateway evaluates mapping templates with Velocity (Developer Guide, "Variables for data
transformations": ``$context``, ``$input``, ``$stageVariables``, ``$util``). No Velocity
engine runs here: a template is returned as written except for these references, which are
replaced by their value:

* ``$context.X`` / ``${context.X}`` for ``requestId``, ``extendedRequestId``, ``apiId``,
  ``stage``, ``resourcePath``, ``httpMethod``, ``path``, ``identity.sourceIp``,
  ``identity.apiKey``, ``identity.userAgent``, ``error.message``,
  ``error.messageString`` (the message as a quoted JSON string) and
  ``error.responseType``;
* ``$stageVariables.X`` / ``${stageVariables.X}``;
* ``$input.params('name')`` (a path, then query-string, then header parameter, as API
  Gateway looks them up), ``$input.body`` and ``$input.json('$')`` (the raw body).

Directives (``#set``, ``#if``, ``#foreach``) and ``$util`` functions are not evaluated; an
unknown reference stays as written (Velocity prints undefined references as written too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_REFERENCE = re.compile(
    r"\$input\.params\(\s*['\"]([^'\"]+)['\"]\s*\)"
    r"|\$input\.json\(\s*['\"]\$['\"]\s*\)"
    r"|\$input\.body\b"
    r"|\$\{(context|stageVariables)\.([A-Za-z0-9_.]+)\}"
    r"|\$(context|stageVariables)\.([A-Za-z0-9_]+(?:\.[A-Za-z][A-Za-z0-9_]*)*)"
)


@dataclass(frozen=True)
class TemplateInput:
    """What a template may refer to."""

    context: Mapping[str, str]
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: str = ""

    def parameter(self, name: str) -> str:
        for source in (self.path_parameters, self.query):
            if name in source:
                return source[name]
        return self.headers.get(name.lower(), "")

    def with_error(self, message: str, response_type: str) -> TemplateInput:
        context = dict(self.context)
        context["error.message"] = message
        context["error.messageString"] = json.dumps(message)
        context["error.responseType"] = response_type
        return TemplateInput(
            context,
            self.stage_variables,
            self.path_parameters,
            self.query,
            self.headers,
            self.body,
        )


def render(template: str, values: TemplateInput) -> str:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if match.group(1) is not None:
            return values.parameter(match.group(1))
        if text.startswith(("$input.json", "$input.body")):
            return values.body
        scope = match.group(2) or match.group(4)
        name = match.group(3) or match.group(5)
        source = values.context if scope == "context" else values.stage_variables
        value = source.get(name)
        return text if value is None else value

    return _REFERENCE.sub(replace, template)
