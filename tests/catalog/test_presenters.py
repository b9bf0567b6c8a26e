"""The catalog's presentation logic on a hand-made document: no AWS, no database writes."""

from __future__ import annotations

from typing import Any

from plans.calls import stage_url
from plans.models import ApiStage
from portal.catalog.presenters import example_for, operations, snippets
from portal.catalog.services import strip_extensions

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"title": "Pets", "version": "2024-05-01T10:00:00Z"},
    "servers": [
        {
            "url": "https://abc.execute-api.eu-west-1.amazonaws.com/{basePath}",
            "variables": {"basePath": {"default": "/v1"}},
        }
    ],
    "paths": {
        "/pets/{id}": {
            "get": {
                "operationId": "GetPet",
                "parameters": [{"name": "id", "in": "path", "required": True}],
                "security": [{"api_key": []}],
            },
            "x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {}},
        },
        "/pets": {
            "post": {
                "summary": "Add a pet",
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}
                    }
                },
                "security": [{"api_key": []}],
                "x-amazon-apigateway-integration": {"type": "http"},
            }
        },
        "/ping": {"get": {}},
    },
    "components": {
        "schemas": {
            "NewPet": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "example": "Rex"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "vaccinated": {"type": "boolean"},
                },
            }
        }
    },
}


def stage() -> ApiStage:
    return ApiStage(region="eu-west-1", rest_api_id="abc", stage_name="v1", api_name="Pets")


def test_the_invoke_url_is_the_stage_s_not_the_document_s_servers() -> None:
    """AWS's export names the execute-api host whatever domain a seller publishes: the stage's
    own address (plans.calls.stage_url, its custom domain first) is what snippets use."""
    assert stage_url(stage()) == "https://abc.execute-api.eu-west-1.amazonaws.com/v1"
    published = stage()
    published.custom_domain = "api.pets.example"
    assert stage_url(published) == "https://api.pets.example"


def test_extensions_are_stripped_at_every_depth() -> None:
    stripped = strip_extensions(DOCUMENT)
    assert "x-amazon-apigateway" not in repr(stripped)
    assert stripped["paths"]["/pets"]["post"]["summary"] == "Add a pet"


def test_operations_key_requirement_and_titles() -> None:
    ops = {(op.method, op.path): op for op in operations(strip_extensions(DOCUMENT))}
    assert set(ops) == {("GET", "/pets/{id}"), ("POST", "/pets"), ("GET", "/ping")}
    assert ops[("GET", "/pets/{id}")].key_required
    assert ops[("GET", "/pets/{id}")].title == "Get pet"
    assert ops[("POST", "/pets")].title == "Add a pet"
    assert not ops[("GET", "/ping")].key_required
    assert ops[("POST", "/pets")].body_example == {
        "name": "Rex",
        "tags": ["string"],
        "vaccinated": True,
    }


def test_snippets_carry_the_key_only_where_needed() -> None:
    ops = {(op.method, op.path): op for op in operations(DOCUMENT)}
    base = stage_url(stage())
    curl, python, javascript = snippets(base, ops[("POST", "/pets")], "AbCdE…")
    assert curl.text == (
        f"curl -X POST '{base}/pets' \\\n"
        "  -H 'x-api-key: AbCdE…' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"name": "Rex", "tags": ["string"], "vaccinated": true}\''
    )
    assert [text for text, is_key in curl.parts if is_key] == ["AbCdE…"]
    assert "json={'name': 'Rex', 'tags': ['string'], 'vaccinated': True}," in python.text
    assert '"x-api-key": "AbCdE…"' in javascript.text
    assert "JSON.stringify(" in javascript.text
    path_op = snippets(base, ops[("GET", "/pets/{id}")], "KEY")[0]
    assert path_op.text.startswith(f"curl -X GET '{base}/pets/ID'")
    for snippet in snippets(base, ops[("GET", "/ping")], "KEY"):
        assert "x-api-key" not in snippet.text and not any(k for _, k in snippet.parts)


def test_example_for_follows_refs_and_stops_on_cycles() -> None:
    components = {
        "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
    }
    example = example_for({"$ref": "#/components/schemas/Node"}, components)
    assert isinstance(example, dict) and "next" in example
