"""How the SSDA903 return codes a foster placement (DfE PLACE U1-U6) from what the placement says:
with a relative or friend (a connected person) or another carer, long term or not. Fostering for
adoption (U2, U5) is not something a placement records, so only an explicit code gives it."""

from __future__ import annotations

from shared.refusals import Reason

CONNECTED = {"U1", "U2", "U3"}
LONG_TERM = {"U1", "U4"}


def foster_placement_code(*, connected_person: bool, long_term: bool) -> str:
    if connected_person:
        return "U1" if long_term else "U3"
    return "U4" if long_term else "U6"


def placement_code_refusals(code: str, *, connected_person: bool, long_term: bool) -> list[Reason]:
    """Every way `code` contradicts the placement it codes."""
    reasons = []
    if (code in CONNECTED) != connected_person:
        who = "a relative or friend" if connected_person else "a carer who is not a relative or friend"
        reasons.append(Reason("placement_type_mismatch", f"{code} does not fit a placement with {who}."))
    if (code in LONG_TERM) != long_term and not (code in {"U2", "U5"} and not long_term):
        term = "long-term" if long_term else "not long-term"
        reasons.append(Reason("placement_term_mismatch", f"{code} does not fit a {term} placement."))
    return reasons
