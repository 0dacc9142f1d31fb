"""Issue 20: the desk's reply pages."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
