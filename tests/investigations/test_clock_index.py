"""The clock index finds, without reading every clock, exactly the clocks a report's window would
count reading them all: over years of clocks set, met, cancelled, recorded late and set again,
with the index built over one fold and the report's fold extending it (endings and clocks the
index has not seen), for windows from the first month to the last."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.investigations.rules import COMPLAINT_STAGE1_KIND, ClockIndex, Deadline, FactsFold, Window

START = datetime(2019, 1, 1, tzinfo=UTC)
DAYS = 6 * 365
KINDS = ("visits.statutory_visit",) * 10 + ("carers.supervision",) * 9 + (COMPLAINT_STAGE1_KIND,)


def instant(rng: random.Random, after: datetime, days: int) -> datetime:
    return after + timedelta(days=rng.uniform(0, days))


def history(seed: int, clocks: int) -> list[tuple[str, str, object]]:
    """What a log folds, in order: ("set", key, Deadline) and ("met" | "cancelled", key, (at, recorded))."""
    rng = random.Random(seed)
    folded: list[tuple[int, tuple[str, str, object]]] = []
    for n in range(clocks):
        key = f"clock-{n}"
        started = instant(rng, START, DAYS)
        recorded = started + timedelta(hours=rng.choice([0, 0, 0, 30 * 24]))  # a few recorded a month late
        due = started + timedelta(days=rng.choice([10, 42, 90, 365]))
        clock = Deadline(key, rng.choice(KINDS), f"subject-{n % 97}", started, due, recorded)
        order = int(recorded.timestamp())
        folded.append((order, ("set", key, clock)))
        for ending in ("met", "cancelled"):
            if rng.random() < {"met": 0.85, "cancelled": 0.2}[ending]:
                at = instant(rng, started, 400)
                noted = at + timedelta(days=rng.choice([0, 0, 0, 1, 120, 1000]))  # some recorded long after
                folded.append((int(noted.timestamp()), (ending, key, (at, noted))))
        if rng.random() < 0.05:  # set again: same clock, a new due time
            again = replace(clock, due_at=due + timedelta(days=200))
            folded.append((order + 1, ("set", key, again)))
    return [item for _, item in sorted(folded, key=lambda pair: pair[0])]


def fold_of(items: list[tuple[str, str, object]]) -> FactsFold:
    fold = FactsFold()
    for what, key, value in items:
        if what == "set":
            fold.deadlines[key] = value  # type: ignore[assignment]
        else:
            getattr(fold, what).setdefault(key, value)
    return fold


def window(since: datetime, baseline: datetime) -> Window:
    return Window(
        since=since,
        since_day=since.date(),
        due_from=since + timedelta(days=2),
        visits_from=since,
        baseline=baseline,
        every_clock_of=frozenset({COMPLAINT_STAGE1_KIND}),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_index_finds_the_clocks_a_window_counts(seed: int) -> None:
    items = history(seed, 3000)
    # Clocks of the indexed part set again after it, due years later (the index's entry is stale).
    early = [value for _, _, value in items[:300] if isinstance(value, Deadline)][:20]
    items += [("set", c.deadline_id, replace(c, due_at=START + timedelta(days=DAYS))) for c in early]
    whole = fold_of(items)
    # The index is of the first three quarters, kept as a fold grows: in steps, as spans are taken in.
    cuts = [0, len(items) // 4, len(items) // 2, 3 * len(items) // 4]
    merged, index = FactsFold(), ClockIndex()
    for step, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False), start=1):
        part = fold_of(items[start:end])
        merged.extend(part)
        index.absorb(merged, [*part.deadlines, *part.met, *part.cancelled], step=step)
    tail = fold_of(items[cuts[-1] :])
    fold = merged.copy()
    fold.extend(tail)
    assert fold.deadlines == whole.deadlines and fold.met == whole.met and fold.cancelled == whole.cancelled
    # A fold of the first step only, then what came after it up to a point (a report as of an
    # instant the later steps were not all recorded by): the index serves it too.
    earlier = fold_of(items[: cuts[1]])
    after_it = fold_of(items[cuts[1] : len(items) * 5 // 8])
    earlier.extend(after_it)
    then = fold_of(items[: len(items) * 5 // 8])
    for months in range(0, 84, 5):
        since = START + timedelta(days=30 * months)
        for baseline in (since + timedelta(days=95), since + timedelta(days=400), START + timedelta(days=DAYS + 500)):
            w = window(since, baseline)
            every = whole.facts(w).deadlines
            candidates = index.candidates(w, fold.deadlines.keys(), tail.deadlines.keys(), known_to=3)
            assert fold.facts(w, candidates).deadlines == every, (since, baseline)
            assert every
            if 35 <= months <= 55:  # before the tail: the clocks read are those counted, and some more
                assert len(candidates) < len(every) + 200 < len(whole.deadlines) - 500
            found = index.candidates(w, earlier.deadlines.keys(), after_it.deadlines.keys(), known_to=1)
            assert earlier.facts(w, found).deadlines == then.facts(w).deadlines, (since, baseline)
