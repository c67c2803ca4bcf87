"""visits: the HTTP API (thin: maps requests to commands and queries)."""

from fastapi import APIRouter

from services.visits import projections
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1", tags=["visits"])

SERVICE = ServiceSpec(name="visits", router=router, projectors=getattr(projections, "PROJECTORS", ()))
