"""When Temporal or the store cannot answer: a deadline on every call to Temporal, and the one
error the API, the pages and the CLI turn into "try again shortly" (503, exit status 3).

What was asked may still happen after such an answer (an update Temporal admitted is applied
once the worker is back), so it is never reported as refused; a retry with the same
idempotency key finds the same draft and sends the same update, and gets its own success.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from store.errors import StoreUnavailable

RETRY_AFTER_SECONDS = 5
MESSAGE = "The service is busy or briefly unavailable; please try again in a few seconds."
EXIT_STATUS = 3
# Codes that say "not now", not "never": what was asked may have happened, or may still.
_TRANSIENT = frozenset(
    {
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
    }
)


class Unavailable(Exception):
    """Temporal or the store did not answer in time, or could not be reached."""

    def __init__(self, what: str) -> None:
        # ``what`` names a component and a status code, never a server's text: it may reach logs.
        super().__init__(what)
        self.what = what


class NotSent(Unavailable):
    """Temporal turned the call itself away (a bad setting, a permission, a limit): nothing of
    it happened, so its draft goes; the caller still hears "try again", since it was not at
    fault."""


# The store's own way of saying so (locked past its busy timeout, unreachable, a disk error);
# each backend raises it for its driver's outages. A bug in a statement stays a 500.
STORE_ERRORS = (StoreUnavailable,)
UNAVAILABLE_ERRORS = (Unavailable, *STORE_ERRORS)


def is_outage(err: BaseException) -> bool:
    """True for Temporal or the store not answering; False for a store error that is a bug."""
    return isinstance(err, UNAVAILABLE_ERRORS)


def describe(err: BaseException) -> str:
    """What an operator's log may say about it: the component and the kind, no server text."""
    if isinstance(err, Unavailable):
        return err.what
    return f"store: {type(err).__name__}"


@asynccontextmanager
async def deadline(limit: timedelta) -> AsyncIterator[None]:
    """Every Temporal call inside ends within ``limit``, or raises ``Unavailable``.

    ``rpc_timeout`` alone does not bound an update: the client polls again after each timed-out
    poll until the update is accepted, which with no worker is never. So the whole block runs
    under ``asyncio.timeout``; the calls inside pass ``rpc_timeout`` too, so the server stops
    waiting for a caller that has gone.
    """
    try:
        async with asyncio.timeout(limit.total_seconds()):
            yield
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise Unavailable("temporal: no answer in time") from None
    except RPCError as err:
        if err.status in _TRANSIENT:
            raise Unavailable(f"temporal: {err.status.name}") from None
        raise
    except RuntimeError as err:
        # How the SDK reports a server it cannot connect to (its text names the address).
        if str(err).startswith("Failed client connect"):
            raise Unavailable("temporal: cannot connect") from None
        raise
