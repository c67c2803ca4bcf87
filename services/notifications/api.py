"""notifications: the HTTP API (thin: maps requests to commands and queries)."""

from fastapi import APIRouter

from services.notifications import projections
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1", tags=["notifications"])

SERVICE = ServiceSpec(name="notifications", router=router, projectors=getattr(projections, "PROJECTORS", ()))
