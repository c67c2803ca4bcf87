"""What the log stores is exactly what it hashed: content PostgreSQL would change is refused.

jsonb refuses the NUL character and cannot hold unpaired surrogates; it keeps numbers as
decimals, so a hash over a parsed float would not see 3 become 3.00000000000000001. Payload
numbers are therefore integers in the range every JSON reader holds exactly (decimals travel as
strings), and `verify` treats any other number in a stored payload as a change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from shared.eventstore.model import InvalidEventContent
from shared.instants import instant_problem

# RFC 8785 writes numbers as IEEE 754 doubles: only integers in this range are exact.
SAFE_INTEGER = 2**53 - 1


def content_problem(value: Any) -> str | None:
    """Why `value` (a payload as JSON reads it) is not content the log stores, or None."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if -SAFE_INTEGER <= value <= SAFE_INTEGER else f"the integer {value} is out of range"
    if isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            found = content_problem(item)
            if found:
                return found
        return None
    if isinstance(value, float):
        return "numbers must be whole (send decimals as text)"
    return f"{type(value).__name__} is not JSON"


def encode(value: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The stored text of a payload and the form that is hashed (the text read back)."""
    try:
        text = orjson.dumps(value, default=str).decode()
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise InvalidEventContent(f"the content cannot be stored: {exc}") from exc
    if "\\u0000" in text:
        raise InvalidEventContent("text may not contain the NUL character")
    stored: dict[str, Any] = orjson.loads(text)
    problem = content_problem(stored)
    if problem:
        raise InvalidEventContent(problem)
    return text, stored


def check_instant(value: datetime, what: str) -> None:
    problem = instant_problem(value)
    if problem:
        raise InvalidEventContent(f"{what}: {problem}")
