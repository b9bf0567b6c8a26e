"""Which method of a deployed API a request path reaches.

A REST API's resources form a tree of path parts: a literal (``forecast``), a path parameter
(``{city}``, one segment) or a greedy proxy parameter (``{proxy+}``, one or more segments);
each resource has methods, one of which may be ``ANY`` (Developer Guide, "Set up a proxy
integration with a proxy resource": a more specific resource wins over ``{proxy+}``, and a
method defined on the resource wins over its ``ANY``). A request reaching no resource, or a
resource without the method, is answered 403 "Missing Authentication Token" by API Gateway.

The tree is built from what the stage's deployment holds: the methods ``localaws.export``
captured when CreateDeployment succeeded (so editing an API changes nothing until it is
deployed again, as in AWS), or, for a deployment this server did not see being made, the
API's methods as they are now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ANY = "ANY"


@dataclass(frozen=True)
class MethodSpec:
    """One method as deployed: where it is, whether it needs a key, its integration (the
    ``Integration`` JSON shape: ``type``, ``requestTemplates``, ``integrationResponses``...)."""

    resource_path: str
    http_method: str
    api_key_required: bool
    integration: Mapping[str, Any] | None


@dataclass(frozen=True)
class RouteMatch:
    method: MethodSpec
    path_parameters: dict[str, str]


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    parameter: tuple[str, _Node] | None = None
    greedy: tuple[str, _Node] | None = None
    methods: dict[str, MethodSpec] = field(default_factory=dict)


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def live_methods(api: Any) -> list[MethodSpec]:
    """The API's methods as they are now (moto's objects)."""
    found = []
    for resource in list(api.resources.values()):
        path = resource.get_path()
        for method in list(resource.resource_methods.values()):
            integration = method.method_integration
            found.append(
                MethodSpec(
                    resource_path=path,
                    http_method=str(method.http_method).upper(),
                    api_key_required=bool(method.api_key_required),
                    integration=integration.to_json() if integration is not None else None,
                )
            )
    return found


def captured_methods(methods: Iterable[Mapping[str, Any]]) -> list[MethodSpec]:
    """Methods from a deployment snapshot (``localaws.export``'s capture)."""
    return [
        MethodSpec(
            resource_path=str(m["path"]),
            http_method=str(m["httpMethod"]).upper(),
            api_key_required=bool(m.get("apiKeyRequired")),
            integration=m.get("integration"),
        )
        for m in methods
    ]


class RouteTable:
    """The resource tree of one deployment, matched segment by segment."""

    def __init__(self, methods: Iterable[MethodSpec]) -> None:
        self._root = _Node()
        for method in methods:
            self._insert(method)

    def _insert(self, method: MethodSpec) -> None:
        node = self._root
        for part in _segments(method.resource_path):
            if part.startswith("{") and part.endswith("+}"):
                if node.greedy is None:
                    node.greedy = (part[1:-2], _Node())
                node = node.greedy[1]
            elif part.startswith("{") and part.endswith("}"):
                if node.parameter is None:
                    node.parameter = (part[1:-1], _Node())
                node = node.parameter[1]
            else:
                node = node.literal.setdefault(part, _Node())
        node.methods[method.http_method] = method

    def match(self, path: str, http_method: str) -> RouteMatch | None:
        """The method ``http_method`` of the most specific resource matching ``path``
        (``ANY`` when the resource has no such method), or None."""
        found = self._resource(self._root, _segments(path), {})
        if found is None:
            return None
        node, parameters = found
        method = node.methods.get(http_method.upper()) or node.methods.get(ANY)
        return None if method is None else RouteMatch(method, parameters)

    def _resource(
        self, node: _Node, segments: list[str], parameters: dict[str, str]
    ) -> tuple[_Node, dict[str, str]] | None:
        if not segments:
            return (node, parameters) if node.methods else None
        head, rest = segments[0], segments[1:]
        child = node.literal.get(head)
        if child is not None:
            found = self._resource(child, rest, parameters)
            if found is not None:
                return found
        if node.parameter is not None:
            name, child = node.parameter
            found = self._resource(child, rest, {**parameters, name: head})
            if found is not None:
                return found
        if node.greedy is not None:
            name, child = node.greedy
            if child.methods:
                return child, {**parameters, name: "/".join(segments)}
        return None
