"""Calling a workflow from a service: its refusals as ``Refused``, Temporal's errors as 503s.

Every service (contacts and reports, flags, notices, appeals) sends its updates through here, so
a refusal, a workflow that has ended and an unreachable server mean the same everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.refusals import Refused, refusal_in
from starter.unavailable import NotSent, Unavailable, deadline

log = logging.getLogger("reviewdesk.service")


@contextmanager
def refusals() -> Iterator[None]:
    """A workflow's refusal of an update comes out as ``Refused`` with its reason."""
    try:
        yield
    except WorkflowUpdateFailedError as err:
        refusal = refusal_in(err.cause)
        if refusal is None:
            raise
        raise Refused(refusal) from None


class WorkflowGone(Exception):
    """The workflow has ended, so the store's record says what is possible."""


# Temporal's answers that say the call was turned away before anything of it happened.
_TURNED_AWAY = frozenset(
    {
        RPCStatusCode.INVALID_ARGUMENT,
        RPCStatusCode.PERMISSION_DENIED,
        RPCStatusCode.UNAUTHENTICATED,
        RPCStatusCode.FAILED_PRECONDITION,
        RPCStatusCode.OUT_OF_RANGE,
        RPCStatusCode.UNIMPLEMENTED,
    }
)


def unavailable(err: RPCError) -> Unavailable:
    """Any other error from Temporal: a 503 for the caller, never a 500. ``NotSent`` when
    nothing of the call happened; otherwise its outcome is unknown and the call may still land."""
    log.error("Temporal answered %s", err.status.name)
    kind = NotSent if err.status in _TURNED_AWAY else Unavailable
    return kind(f"temporal: {err.status.name}")


async def send_update(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    *args: Any,
    id: str | None = None,
    within: timedelta,
) -> Any:
    """Sends an update and waits for its outcome, for ``within`` at most.

    ``id`` names the object the update carries (``answer-<answer id>``): sent again after a
    503, the same update gets the first one's outcome instead of a refusal as a second one.
    A 503 (``Unavailable``) says nothing of the outcome: the update may still be applied.
    ``WorkflowGone``: the workflow has ended, so the store's record says what is possible.
    """
    try:
        async with deadline(within):
            with refusals():
                return await handle.execute_update(update, *args, id=id, rpc_timeout=within)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowGone from err
        raise unavailable(err) from None
