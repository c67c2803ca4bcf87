"""carers: its read models (projectors and reactors) and the query functions that read them into
typed rows."""

from services.carers.projections.caseloads import CaseloadsProjector, WorkerCaseload, WorkerSupervision, caseloads
from services.carers.projections.households import HouseholdsProjector, PlacementRow, evolve_placement
from services.carers.projections.lists import HouseholdFilter, HouseholdListItem, list_households
from services.carers.projections.queries import (
    AllegationReportView,
    HouseholdView,
    MemberView,
    OverdueHousehold,
    allegation,
    allegation_report,
    household,
    household_view,
    overdue_households,
    placement,
    placements_of,
)
from services.carers.projections.reactors import (
    AllegationHoldReactor,
    BedroomSeenReactor,
    ChildNeedsReactor,
    ConcernAllegationReactor,
    IncidentAgendaReactor,
)
from services.carers.projections.register import register_of_foster_parents
from shared.eventstore import Projector
from shared.settings import Settings


def projectors(settings: Settings) -> list[Projector]:
    return [
        HouseholdsProjector(),
        AllegationHoldReactor(),
        ConcernAllegationReactor(settings),
        IncidentAgendaReactor(settings.carers),
        ChildNeedsReactor(settings.carers),
        BedroomSeenReactor(settings.carers),
        CaseloadsProjector(),
    ]


__all__ = [
    "AllegationHoldReactor",
    "BedroomSeenReactor",
    "AllegationReportView",
    "CaseloadsProjector",
    "ChildNeedsReactor",
    "HouseholdFilter",
    "HouseholdListItem",
    "ConcernAllegationReactor",
    "HouseholdView",
    "HouseholdsProjector",
    "IncidentAgendaReactor",
    "MemberView",
    "OverdueHousehold",
    "PlacementRow",
    "WorkerCaseload",
    "WorkerSupervision",
    "allegation",
    "allegation_report",
    "caseloads",
    "evolve_placement",
    "household",
    "household_view",
    "list_households",
    "overdue_households",
    "placement",
    "placements_of",
    "register_of_foster_parents",
]
