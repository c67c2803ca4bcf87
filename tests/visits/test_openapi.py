"""Every visits route documents what it answers: front ends generate their typed client from
/openapi.json, so a route with no success schema is a route they cannot call safely."""

from __future__ import annotations

from typing import Any

import httpx


async def test_every_visits_route_documents_its_success_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if "visits" in operation.get("tags", [])
    ]
    assert len(operations) >= 30
    undocumented: list[str] = []
    for method, path, operation in operations:
        success = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        # JSON, or the file a download answers with.
        schemas: list[Any] = [
            (
                r.get("content", {}).get("application/json")
                or r.get("content", {}).get("application/octet-stream")
                or {}
            ).get("schema")
            for r in success.values()
        ]
        if not schemas or not all(schemas):
            undocumented.append(f"{method} {path}")
    assert undocumented == []


async def test_commands_answer_a_command_result_with_their_ids(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    visit = schemas["VisitResult"]["properties"]
    assert {"event_id", "stream_id", "version", "position", "clocks", "visit_id", "child_id"} <= set(visit)
    chronology = spec["paths"]["/v1/children/{child_id}/chronology"]["get"]["responses"]["200"]
    assert chronology["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Chronology"}
