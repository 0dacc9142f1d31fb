"""Routes of issue 17's work (placeholder, filled in by it)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
