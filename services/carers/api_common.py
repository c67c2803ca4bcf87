"""carers: who may call each route of the service's HTTP API (shared/policy.py decides; shared/access
enforces and logs reads), the command context, and what every write route answers on refusal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends

from shared.access import access
from shared.auth import Principal
from shared.commanding import CommandContext, command_context
from shared.policy import Action, Resource

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
AllegationCreator = Annotated[Principal, access(Resource.ALLEGATION, Action.CREATE)]
HouseholdCreator = Annotated[Principal, access(Resource.HOUSEHOLD, Action.CREATE)]
HouseholdReader = Annotated[
    Principal, access(Resource.HOUSEHOLD, Action.READ, locate="household", param="household_id")
]
HouseholdLister = Annotated[Principal, access(Resource.HOUSEHOLD, Action.READ, listing=True)]
HouseholdWriter = Annotated[
    Principal, access(Resource.HOUSEHOLD, Action.WRITE, locate="household", param="household_id")
]
PlacementWriter = Annotated[Principal, access(Resource.CHILD, Action.WRITE, locate="placement", param="placement_id")]
ReportListReader = Annotated[Principal, access(Resource.REPORT, Action.READ, self_param="worker_id")]
ReportReader = Annotated[Principal, access(Resource.REPORT, Action.READ)]
ReportWriter = Annotated[Principal, access(Resource.REPORT, Action.WRITE)]
ChildInBodyWriter = Annotated[
    Principal, access(Resource.CHILD, Action.WRITE, locate="child", param="child_id", source="body")
]
PlacementReader = Annotated[
    Principal, access(Resource.CHILD, Action.READ, locate="placement", param="placement_id", audited=True)
]
AllegationReportReader = Annotated[
    Principal, access(Resource.ALLEGATION, Action.READ, locate="allegation-report", param="report_id", audited=True)
]
AllegationReportWriter = Annotated[
    Principal, access(Resource.ALLEGATION, Action.WRITE, locate="allegation-report", param="report_id")
]
AllegationReader = Annotated[
    Principal, access(Resource.ALLEGATION, Action.READ, locate="allegation", param="allegation_id", audited=True)
]
AllegationWriter = Annotated[
    Principal, access(Resource.ALLEGATION, Action.WRITE, locate="allegation", param="allegation_id")
]

Ctx = Annotated[CommandContext, Depends(command_context("carers"))]

CREATED: dict[str, Any] = {"status_code": 201}
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown id (problem `not-found`)"},
    409: {"description": "Refused: `invariant-violated` with `reasons`, or `state-conflict`"},
    422: {"description": "Invalid input (`validation`) or a recording rule (`business-rule` with `reasons`)"},
}
