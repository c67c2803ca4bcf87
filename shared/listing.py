"""What every list route shares: an opaque, stable cursor (keyset pagination on the list's sort key
and the row's id, so a row added or changed between two pages neither repeats nor hides another),
and the text search on names (PostgreSQL full text, prefix matching each word).

Full text rather than trigrams: pg_trgm is an extension the embedded PostgreSQL of `carelog serve`
does not ship, and the 'simple' configuration (no stemming, no stop words) suits names."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Annotated, Any

import orjson
from fastapi import Query
from pydantic import BaseModel, Field

from shared.problems import Problem

# A page's size: the default and the most a client may ask for (carelog's own limits, not statute).
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page")]
Cursor = Annotated[
    str | None, Query(max_length=1000, description="`next_cursor` of the previous page; absent for the first")
]
Search = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="Words the name contains (each matched as a prefix)"),
]

_WORD = re.compile(r"\w+", re.UNICODE)
# The search's words: a query of at most this many (a name is a handful of words).
MAX_SEARCH_WORDS = 10


class PageInfo(BaseModel):
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


def encode_cursor(sort_key: str, row_id: uuid.UUID) -> str:
    """The cursor after a row: its sort key and id, opaque to the client."""
    return base64.urlsafe_b64encode(orjson.dumps([sort_key, str(row_id)])).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    """The (sort key, id) a cursor names; a cursor carelog did not make is a 422 problem."""
    if cursor is None:
        return None
    try:
        key, row_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(key, str) or "\x00" in key:  # PostgreSQL text holds no NUL
            raise ValueError(key)
        return key, uuid.UUID(str(row_id))
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Problem("validation", "The cursor is not one a previous page gave.") from exc


def search_query(search: str | None) -> str | None:
    """A to_tsquery('simple', ...) text matching names holding every word as a prefix: only word
    characters reach it, so nothing the caller types is read as query syntax."""
    if search is None:
        return None
    words = [w.lower() for w in _WORD.findall(search)]
    if not words:
        raise Problem("validation", "The search holds no letters or digits.")
    if len(words) > MAX_SEARCH_WORDS:
        raise Problem("validation", f"Search for at most {MAX_SEARCH_WORDS} words.")
    return " & ".join(f"{word}:*" for word in words)


def page_of(rows: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """The first `limit` of `rows` (fetched one past the page) and the cursor after the last, if
    more follow; `key(row)` gives (sort key, id)."""
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(*key(page[-1]))
