"""/openapi.json as a front-end team generates its client from it: a valid OpenAPI document, every
operation's success answer typed, every error the one problem schema, and the bearer scheme on
every route that needs a token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from services.app import create_app
from tests.conftest import test_settings

PUBLIC = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    # The signed link in a notification email: its token is the credential.
    ("get", "/v1/acknowledgements/{notification_id}/{recipient}"),
    ("post", "/v1/acknowledgements/{notification_id}/{recipient}"),
}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app: FastAPI = create_app(test_settings(), database_url="postgresql://unused@127.0.0.1/unused")
    return app.openapi()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()]


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert len(_operations(spec)) >= 80


def test_every_operation_types_its_success_answer(spec: dict[str, Any]) -> None:
    untyped = []
    for method, path, op in _operations(spec):
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        contents = [r.get("content") for code, r in success.items() if code != "204"]
        if not contents or any(not c or not all(media.get("schema") for media in c.values()) for c in contents):
            untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def test_success_schemas_say_what_they_hold(spec: dict[str, Any]) -> None:
    """A bare `object` (a dict with no declared fields) tells a client nothing."""
    bare = []
    for method, path, op in _operations(spec):
        for code, response in op["responses"].items():
            if not code.startswith("2"):
                continue
            for media in (response.get("content") or {}).values():
                schema = media.get("schema", {})
                if schema.get("type") == "object" and "properties" not in schema and "$ref" not in schema:
                    bare.append(f"{method.upper()} {path}")
    assert bare == []


def test_every_error_answer_is_the_one_problem_schema(spec: dict[str, Any]) -> None:
    assert spec["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    other = [
        f"{method.upper()} {path} {code}"
        for method, path, op in _operations(spec)
        for code, response in op["responses"].items()
        if code[0] in "45" and response["content"] != {"application/problem+json": {"schema": PROBLEM}}
    ]
    assert other == []


def test_every_route_but_the_probes_declares_the_bearer_scheme(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    unsecured = {(method, path) for method, path, op in _operations(spec) if not op.get("security")}
    assert unsecured == PUBLIC
