"""carers: the HTTP API (thin: maps requests to commands and queries)."""

from fastapi import APIRouter

from services.carers import projections
from shared.service import ServiceSpec

router = APIRouter(prefix="/v1", tags=["carers"])

SERVICE = ServiceSpec(name="carers", router=router, projectors=getattr(projections, "PROJECTORS", ()))
