"""notifications: the rules reactor. It keeps what the rules need to know of other services' facts
(children, placements, allegations) and turns each notifiable fact into the notifications the rule
files raise (commands.decide_notifications)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import commands, rules
from services.notifications.rulebook import default_rule_sets
from shared.contracts.carers import (
    AllegationOutcomeRecorded,
    AllegationReceived,
    HouseholdEntryAmended,
    HouseholdRegistered,
    PlacementEnded,
    PlacementStarted,
)
from shared.contracts.visits import ChildRegistered
from shared.eventstore import Batch, Reactor, RecordedEvent, handles, reacts
from shared.eventstore.projector import Reactions

_UPSERT_CHILD = text(
    "INSERT INTO notifications_children (child_id, name, placing_authority) VALUES (:c, :n, :p) "
    "ON CONFLICT (child_id) DO UPDATE SET name = EXCLUDED.name, placing_authority = EXCLUDED.placing_authority"
)
_UPSERT_PLACEMENT = text(
    "INSERT INTO notifications_placements (placement_id, child_id, household_id, start_date, placing_authority) "
    "VALUES (:id, :c, :h, :s, :p) ON CONFLICT (placement_id) DO UPDATE SET "
    "child_id = EXCLUDED.child_id, household_id = EXCLUDED.household_id, "
    "start_date = EXCLUDED.start_date, placing_authority = EXCLUDED.placing_authority"
)
_END_PLACEMENT = text(
    "INSERT INTO notifications_placements (placement_id, child_id, household_id, end_date) "
    "VALUES (:id, :c, :h, :e) ON CONFLICT (placement_id) DO UPDATE SET end_date = EXCLUDED.end_date"
)
_UPSERT_ALLEGATION = text(
    "INSERT INTO notifications_allegations (allegation_id, household_id, child_ids) "
    "VALUES (:id, :h, CAST(:c AS uuid[])) ON CONFLICT (allegation_id) DO UPDATE SET "
    "household_id = EXCLUDED.household_id, child_ids = EXCLUDED.child_ids"
)
_ALLEGATION = text("SELECT household_id, child_ids FROM notifications_allegations WHERE allegation_id = :a")
_PLACEMENTS = text(
    "SELECT child_id, household_id, start_date, end_date, placing_authority FROM notifications_placements "
    "WHERE child_id = ANY(:c) ORDER BY start_date NULLS FIRST"
)
_UPSERT_HOUSEHOLD = text(
    "INSERT INTO notifications_households (household_id, local_authority) VALUES (:h, :la) "
    "ON CONFLICT (household_id) DO UPDATE SET local_authority = EXCLUDED.local_authority"
)
_HOUSEHOLDS = text("SELECT household_id, local_authority FROM notifications_households WHERE household_id = ANY(:h)")
_CHILDREN = text("SELECT child_id, name, placing_authority FROM notifications_children WHERE child_id = ANY(:c)")


class NotificationRules(Reactor):
    """Follows children, placements and allegations; raises a notification per rule row matched."""

    name = "notifications_rules"
    tables = (
        "notifications_children",
        "notifications_placements",
        "notifications_allegations",
        "notifications_households",
    )

    def __init__(self, rule_sets: Sequence[rules.RuleSet] | None = None) -> None:
        self._rule_sets = tuple(rule_sets) if rule_sets is not None else None

    @property
    def rule_sets(self) -> Sequence[rules.RuleSet]:
        return self._rule_sets if self._rule_sets is not None else default_rule_sets()

    @handles(ChildRegistered)
    async def _child(self, batch: Batch, child: ChildRegistered, event: RecordedEvent) -> None:
        batch.write(
            _UPSERT_CHILD,
            {"c": child.child_id, "n": child.name, "p": child.placing_authority},
            ("notifications_children", child.child_id),
        )

    @handles(HouseholdRegistered)
    async def _household(self, batch: Batch, household: HouseholdRegistered, event: RecordedEvent) -> None:
        batch.write(
            _UPSERT_HOUSEHOLD,
            {"h": household.household_id, "la": household.local_authority},
            ("notifications_households", household.household_id),
        )

    @handles(HouseholdEntryAmended)
    async def _household_amended(self, batch: Batch, amended: HouseholdEntryAmended, event: RecordedEvent) -> None:
        if amended.local_authority is not None:  # where the household lives, corrected
            batch.write(
                _UPSERT_HOUSEHOLD,
                {"h": amended.household_id, "la": amended.local_authority},
                ("notifications_households", amended.household_id),
            )

    @handles(PlacementStarted)
    async def _placed(self, batch: Batch, placement: PlacementStarted, event: RecordedEvent) -> None:
        batch.write(
            _UPSERT_PLACEMENT,
            {
                "id": placement.placement_id,
                "c": placement.child_id,
                "h": placement.household_id,
                "s": placement.start_date,
                "p": placement.placing_authority,
            },
            ("notifications_placements", placement.placement_id),
        )

    @handles(PlacementEnded)
    async def _ended(self, batch: Batch, ended: PlacementEnded, event: RecordedEvent) -> None:
        batch.write(
            _END_PLACEMENT,
            {"id": ended.placement_id, "c": ended.child_id, "h": ended.household_id, "e": ended.end_date},
            ("notifications_placements", ended.placement_id),
        )

    @handles(AllegationReceived)
    async def _allegation(self, batch: Batch, allegation: AllegationReceived, event: RecordedEvent) -> None:
        batch.write(
            _UPSERT_ALLEGATION,
            {
                "id": allegation.allegation_id,
                "h": allegation.household_id,
                "c": [str(c) for c in allegation.child_ids],
            },
            ("notifications_allegations", allegation.allegation_id),
        )

    @reacts(*rules.NOTIFIABLE)
    async def _notify(self, conn: AsyncConnection, fact: rules.Notifiable, event: RecordedEvent) -> Reactions:
        found = rules.matches_fact(self.rule_sets, fact)
        if not found:
            return ()
        allegation = await _allegation(conn, fact) if isinstance(fact, AllegationOutcomeRecorded) else None
        subjects = rules.subjects_of(fact, event.child_ids, allegation)
        on_file = await _on_file(conn, subjects.child_ids, subjects.household_id)
        return commands.decide_notifications(event, fact, found, subjects, on_file)


async def _allegation(conn: AsyncConnection, outcome: AllegationOutcomeRecorded) -> rules.AllegationOnFile | None:
    row = (await conn.execute(_ALLEGATION, {"a": outcome.allegation_id})).first()
    return rules.AllegationOnFile(row.household_id, tuple(row.child_ids)) if row else None


async def _on_file(
    conn: AsyncConnection, child_ids: Sequence[uuid.UUID], household_id: uuid.UUID | None
) -> rules.OnFile:
    """The children's registrations and placements, and where their households are, as the rules
    read them."""
    wanted = list(child_ids)
    placements: dict[uuid.UUID, list[rules.PlacementOnFile]] = {c: [] for c in wanted}
    for row in await conn.execute(_PLACEMENTS, {"c": wanted}):
        placements[row.child_id].append(
            rules.PlacementOnFile(row.household_id, row.start_date, row.end_date, row.placing_authority)
        )
    children: dict[uuid.UUID, rules.ChildOnFile | None] = dict.fromkeys(wanted)
    for row in await conn.execute(_CHILDREN, {"c": wanted}):
        children[row.child_id] = rules.ChildOnFile(row.name, row.placing_authority)
    homes = {p.household_id for ps in placements.values() for p in ps if p.household_id} | (
        {household_id} if household_id else set()
    )
    households: dict[uuid.UUID, str | None] = dict.fromkeys(homes)
    for row in await conn.execute(_HOUSEHOLDS, {"h": list(homes)}):
        households[row.household_id] = row.local_authority
    return rules.OnFile(children=children, placements=placements, households=households)
