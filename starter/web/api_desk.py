"""The desk API (DESIGN rules 14-17, 20): placeholder until its routes land."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["desk"])
