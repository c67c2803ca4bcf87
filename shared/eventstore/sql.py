"""Every statement on the log (`events`, `events_head`), in one place: the store's own, and the
fragments a service may set into a statement of its projections (the head, a stream's version) so
that one round trip reads both. All in the driver's own ($n) form."""

from __future__ import annotations

EVENT_COLUMNS = (
    "position, event_id, stream_id, stream_version, type, schema_version, data, metadata, "
    "child_ids, occurred_at, recorded_at, prev_hash, hash"
)

# ---- appending (the group commit) ---------------------------------------------------------------
# Every row of a batch in one statement, from one array per column (child_ids as array literals:
# an array of arrays would not unnest into rows); with the batch's last rows, the head moves and
# the append is announced in the same statement.
_ROWS = (
    "SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::int[], "
    "$7::jsonb[], $8::jsonb[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[]) "
    "AS r(position, event_id, stream_id, stream_version, type, schema_version, data, metadata, child_ids, "
    "occurred_at, recorded_at, prev_hash, hash)"
)
INSERT = (
    f"INSERT INTO events ({EVENT_COLUMNS}) SELECT position, event_id, stream_id, stream_version, type, "
    f"schema_version, data, metadata, child_ids::uuid[], occurred_at, recorded_at, prev_hash, hash FROM ({_ROWS}) r"
)
# ... and the checkpoints of the inline projections (locked without waiting: a runner elsewhere
# holding one makes the batch run again without them) move to the new head; their rows come back
# with where they were.
INSERT_AND_MOVE_HEAD = (
    f"WITH inserted AS ({INSERT} RETURNING 1), "
    "moved AS (UPDATE events_head SET position = $14, hash = $15, recorded_at = $16 WHERE id "
    "RETURNING pg_notify($17, position::text)), "
    "checkpoints AS (UPDATE projector_checkpoints c SET position = $14 FROM (SELECT name, position AS was "
    "FROM projector_checkpoints WHERE name = ANY($18::text[]) ORDER BY name FOR UPDATE NOWAIT) locked "
    "WHERE c.name = locked.name RETURNING c.name, locked.was) "
    "SELECT name, was FROM checkpoints"
)
LOCK_HEAD = "SELECT position, hash, recorded_at FROM events_head WHERE id FOR UPDATE"
STORED = f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ANY($1::uuid[])"
# Each stream's last version by one descent of the (stream_id, stream_version) index.
VERSIONS = (
    "SELECT s.stream_id, v.version FROM unnest($1::text[]) AS s(stream_id) CROSS JOIN LATERAL "
    "(SELECT stream_version AS version FROM events e WHERE e.stream_id = s.stream_id "
    "ORDER BY stream_version DESC LIMIT 1) v"
)

# ---- reading ------------------------------------------------------------------------------------
HEAD = "SELECT position, hash, recorded_at FROM events_head WHERE id"
STREAM_EXISTS = "SELECT EXISTS (SELECT 1 FROM events WHERE stream_id = $1)"
FIRST_OF_STREAM = f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY stream_version LIMIT 1"
LAST_OF_STREAM = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND ($2::text[] IS NULL OR type = ANY($2::text[])) "
    "ORDER BY stream_version DESC LIMIT 1"
)
STREAM_VERSION = "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1"
STREAM = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 "
    "AND ($3::timestamptz IS NULL OR recorded_at <= $3) ORDER BY stream_version"
)
EVENT_BY_ID = f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = $1"
EVENT_AT = f"SELECT {EVENT_COLUMNS} FROM events WHERE position = $1"
# The last event recorded by an instant: what "as the agency knew it at T" is anchored to.
LAST_AS_OF = "SELECT position, hash FROM events WHERE recorded_at <= $1 ORDER BY position DESC LIMIT 1"
# A stream, with the events of `types` on other streams whose payload names the same subject.
STREAM_AND_RELATED = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 "
    f"UNION ALL SELECT {EVENT_COLUMNS} FROM events WHERE type = ANY($2::text[]) "
    "AND data->>$3 = $4 AND stream_id <> $1 ORDER BY position"
)
# Whether a clock was closed (the types are literals so the planner uses events_deadline_closed).
DEADLINE_CLOSED = (
    "SELECT EXISTS (SELECT 1 FROM events WHERE type IN ('DeadlineMet', 'DeadlineCancelled') "
    "AND data->>'deadline_id' = $1)"
)


# EVENT_COLUMNS with the payloads as JSON text, for record_to_event to decode with orjson: jsonb in
# its binary form goes through a Python decoder a value (about a sixth of reading a page).
PAGE_COLUMNS = EVENT_COLUMNS.replace("data, metadata", "data::text AS data, metadata::text AS metadata")


def page_of_log(*, types: bool, as_of: bool, page: int) -> str:
    """Events in ($1, $2] by position, `page` at most: of the types in the next parameter if
    `types`, recorded by the one after if `as_of`."""
    clauses = ["position > $1", "position <= $2"]
    if types:
        clauses.append("type = ANY($3)")
    if as_of:
        clauses.append(f"recorded_at <= ${4 if types else 3}")
    return f"SELECT {PAGE_COLUMNS} FROM events WHERE {' AND '.join(clauses)} ORDER BY position LIMIT {page}"


RANGE = f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 AND position <= $2 ORDER BY position LIMIT $3"
# The first document named by an event up to the head whose stored content is missing or is not
# the content its hash names (shared/documents: every "<service>.DocumentAttached" holds `sha256`).
DOCUMENT_MISMATCH = (
    "SELECT e.position FROM events e LEFT JOIN documents_content d ON d.sha256 = e.data->>'sha256' "
    "WHERE e.type LIKE '%.DocumentAttached' AND e.position <= $1 "
    "AND (d.sha256 IS NULL OR encode(sha256(d.content), 'hex') <> d.sha256 OR octet_length(d.content) <> "
    "(e.data->>'size_bytes')::bigint) ORDER BY e.position LIMIT 1"
)
RANGE_OF_TYPES = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 AND position <= $2 AND type = ANY($4) "
    "ORDER BY position LIMIT $3"
)

# A child's whole record: every event whose child_ids name the child (one scan of the GIN index).
CHILD_RECORD = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE child_ids @> ARRAY[$1::uuid] "
    "AND ($2::timestamptz IS NULL OR recorded_at <= $2) "
    "ORDER BY occurred_at, position"
)
# The chronology: the child's events once (as known at an instant), the page asked for, and the
# amendments of what is on it, in one statement. {wanted}, {sort} and {limit} are filled in by
# EventStore.chronology from fixed fragments only.
CHRONOLOGY = (
    "WITH known AS MATERIALIZED (SELECT position, event_id, stream_id, type, data, metadata, occurred_at, "
    "recorded_at FROM events WHERE child_ids @> ARRAY[$1::uuid] AND ($2::timestamptz IS NULL OR recorded_at <= $2)), "
    "amendments AS (SELECT data->>'amends_event_id' AS amends, array_agg((event_id::text, data->>'reason', "
    "data->>'correction', recorded_at, metadata->>'actor_id', metadata->>'actor_role') ORDER BY position) AS list "
    "FROM known WHERE type = $3 GROUP BY 1) "
    "SELECT k.position, k.event_id::text AS event_id, k.stream_id, k.type, k.data::text AS data, "
    "k.data->>'amends_event_id' AS amends, coalesce(k.metadata->>'service', split_part(k.type, '.', 1)) AS service, "
    "coalesce(k.metadata->>'summary', k.type) AS summary, k.metadata->>'actor_id' AS actor_id, "
    "k.metadata->>'actor_role' AS actor_role, k.occurred_at, k.recorded_at, a.list AS amendments "
    "FROM (SELECT * FROM known WHERE {wanted} ORDER BY {sort} LIMIT {limit}) k "
    "LEFT JOIN amendments a ON a.amends = k.event_id::text ORDER BY {sort}"
)

# Fragments for a projection's own statement, with its stream id as parameter ${n}.
HEAD_POSITION_FRAGMENT = "(SELECT position FROM events_head WHERE id)"


def stream_version_fragment(param: int) -> str:
    """The version of the stream named by parameter `param`, as a scalar subquery."""
    return f"(SELECT stream_version FROM events WHERE stream_id = ${param} ORDER BY stream_version DESC LIMIT 1)"
