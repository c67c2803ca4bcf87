"""Which of a long history's clocks a report's window may count, found without reading them all.

A report reads the clocks falling due in its months, and any not decided before them (rules.facts
Window). Over years of log nearly every clock was decided long before: the index files each clock
of a fold that grows (the kept spans folded together) in buckets of the instants Window's test
reads, so a window takes the few buckets it needs and tests only their clocks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Set
from dataclasses import dataclass, field
from datetime import datetime
from math import inf

from services.investigations.rules.facts import FactsFold, Window

BUCKET_SECONDS = 30 * 24 * 3600  # about a month of instants a bucket
OPEN = 2**62  # the bucket of a clock not decided yet: every window tests it


def _bucket(at: datetime) -> int:
    # Monotone in the instant, so comparing buckets never drops a clock comparing instants keeps.
    return int(at.timestamp() // BUCKET_SECONDS)


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    undecided: int  # bucket of its due time or first ending, whichever is later (OPEN if open)
    noted: int | None  # bucket of when it was recorded, and of when its first ending was (if decided)
    ending_noted: int | None


@dataclass
class ClockIndex:
    """A fold's clocks in buckets: by when each was last undecided, by kind, (the decided) by when
    it and its first ending were recorded, and by the step of the fold that last set or ended it.
    An ending the index has not seen can only take a clock out of a window, so the index stays a
    superset until `absorb` brings it up to date; and a fold of only its first steps is served
    too, every clock touched after them being a candidate."""

    entries: dict[str, _Entry] = field(default_factory=dict)
    ordinals: dict[str, int] = field(default_factory=dict)  # each clock's place in the fold's order
    # By the step that first set the clock, then the bucket: a fold of the first steps reads its own.
    undecided: defaultdict[tuple[int, int], set[str]] = field(default_factory=lambda: defaultdict(set))
    kinds: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    noted: defaultdict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    ending_noted: defaultdict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    first_step: dict[str, int] = field(default_factory=dict)
    # The clocks touched again after the step that set them, by the last step that did.
    touched_again: defaultdict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    last_step: dict[str, int] = field(default_factory=dict)

    def absorb(self, fold: FactsFold, keys: Iterable[str], step: int = 0) -> None:
        """Bring the clocks of `keys` (set, met or cancelled in what `fold` has just taken in, its
        step `step`, counting up) up to `fold`."""
        for key in keys:
            d = fold.deadlines.get(key)
            if d is None:
                continue  # the ending of a clock not set yet: indexed when it is
            old = self.entries.get(key)
            if old is not None:
                self._file(key, old, discard=True)
            endings = [e for e in (fold.met.get(key), fold.cancelled.get(key)) if e is not None]
            if endings:
                at, recorded = min(endings)
                entry = _Entry(d.kind, _bucket(max(d.due_at, at)), _bucket(d.recorded_at), _bucket(recorded))
            else:
                entry = _Entry(d.kind, OPEN, None, None)
            self.ordinals.setdefault(key, len(self.ordinals))
            first = self.first_step.setdefault(key, step)
            self.entries[key] = entry
            self._file(key, entry)
            if step != first:
                if (last := self.last_step.get(key)) is not None:
                    self.touched_again[last].discard(key)
                self.last_step[key] = step
                self.touched_again[step].add(key)

    def _file(self, key: str, entry: _Entry, discard: bool = False) -> None:
        filed = [self.undecided[self.first_step[key], entry.undecided], self.kinds[entry.kind]]
        if entry.noted is not None and entry.ending_noted is not None:
            filed += [self.noted[entry.noted], self.ending_noted[entry.ending_noted]]
        for bucket in filed:
            (bucket.discard if discard else bucket.add)(key)

    def _undecided_at(self, since: int, known_to: int | None) -> set[str]:
        """The clocks undecided at bucket `since` (set by step `known_to`, if given)."""
        steps = inf if known_to is None else known_to
        return set().union(*(keys for (first, b), keys in self.undecided.items() if b >= since and first <= steps))

    def _unknown_at(self, baseline: int) -> set[str]:
        """The decided clocks recorded by bucket `baseline` whose ending was recorded after it:
        of the two sides, the smaller is read."""
        noted = [keys for b, keys in self.noted.items() if b <= baseline]
        ending_noted = [keys for b, keys in self.ending_noted.items() if b >= baseline]
        return set().union(*min(noted, ending_noted, key=lambda sides: sum(map(len, sides))))

    def candidates(self, w: Window, clocks: Set[str], fresh: Collection[str], known_to: int | None = None) -> list[str]:
        """Of a fold's `clocks`, those `w` may count, in the fold's order: any undecided at `since`,
        of a kind it counts whole, or decided before it in a way a fact recorded by the baseline did
        not know then (Window.ended); then the clocks of `fresh`, set after the indexed fold. A fold
        of the indexed fold's steps up to `known_to` (then `fresh`) has every clock touched after
        them read too: what it knows of them is not what the index does."""
        found = self._undecided_at(_bucket(w.since), known_to)
        found.update(*(self.kinds.get(kind, ()) for kind in w.every_clock_of))
        found.update(self._unknown_at(_bucket(w.baseline)))
        if known_to is not None:
            found.update(*(keys for step, keys in self.touched_again.items() if step > known_to))
        found.update(k for k in fresh if k in self.entries)
        found.intersection_update(clocks)  # the index may hold clocks set after the fold's steps
        ordered = sorted(found, key=self.ordinals.__getitem__)
        return ordered + [k for k in fresh if k not in self.entries]
