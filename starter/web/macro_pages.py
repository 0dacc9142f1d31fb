"""Issue 20: the desk's macro pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
