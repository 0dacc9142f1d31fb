"""Issue 20: the desk's insight pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
