"""The response desk's pages: placeholder until they land."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from starter.web.auth import check_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_session)])
