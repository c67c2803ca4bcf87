"""Runs the DfE's SSDA903 validation rules (csc-validator-be-903, the `lac_validator` package) on
the files of a return, in process, and answers the rules that fail and those that could not run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    rules_run: int
    errors: list[dict[str, Any]] = field(default_factory=list)  # {rule, message, table, row, child}
    failed_to_run: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def validate(
    files: dict[str, bytes],
    *,
    collection_year: int,
    local_authority: str,
    previous: dict[str, bytes] | None = None,
) -> Verdict:
    """`files` by table name (header, episodes, ...); `collection_year` names the March the year ends
    in; `previous`, the year before's files, lets the rules that compare the two years run."""
    from lac_validator.lac_validator import LacValidator
    from lac_validator.rules.ruleset_utils import get_year_ruleset

    logging.getLogger("lac_validator").setLevel(logging.WARNING)
    registry = get_year_ruleset(str(collection_year))
    uploads = [
        {"name": f"{name}.csv", "file_content": body, "description": which}
        for which, tables in (("This year", files), ("Prev year", previous or {}))
        for name, body in tables.items()
    ]
    run = LacValidator(
        metadata={"collectionYear": str(collection_year), "localAuthority": local_authority},
        files=uploads,  # type: ignore[arg-type]
        registry=registry,
    )
    verdict = Verdict(rules_run=len(run.dones), failed_to_run=list(run.fails), skipped=list(run.skips))
    for table, frame in run.ds_results.items():
        if table == "metadata":
            continue
        for column in [c for c in frame.columns if str(c).startswith("ERR_")]:
            code = column[4:]
            for row in frame.index[frame[column] == True]:  # noqa: E712 - pandas mask
                verdict.errors.append(
                    {
                        "rule": code,
                        "message": registry[code].message,
                        "table": table,
                        "row": int(row),
                        "child": str(frame.loc[row, "CHILD"]),
                    }
                )
    return verdict
