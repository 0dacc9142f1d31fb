"""Applying the retention rule (`store.retention`): once (`reviewdesk purge`), or every
`retention_check_every` while a worker runs."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from delivery.mail import FileMailer
from settings import Settings
from store import Store, retention
from store.records import now

log = logging.getLogger("reviewdesk.retention")
# How long a purge's checkpoint waits for another process's readers: it holds every write
# meanwhile. Not done in time, it is done by the next purge that removes something.
CHECKPOINT_WAIT = timedelta(seconds=1)


async def purge_due(db: Store, settings: Settings, at: datetime | None = None) -> retention.Purged:
    """Purges every case that ended `retention` or longer before ``at`` (now), with the files
    of its emails: without an SMTP server they are the platform's copy of what was sent; and
    forgets the notifiers no finding or ladder counts any more (`retention.forget_notifiers`)."""
    at = at or now()
    async with db.tx() as conn:
        purged = await retention.purge(conn, before=at - settings.retention, at=at)
        forgotten = await retention.forget_notifiers(
            conn,
            keys_before=at - settings.misuse_window - settings.ladder_memory,
            steps_before=at - settings.ladder_memory,
            at=at,
        )
        purged = dataclasses.replace(
            purged,
            messages=purged.messages + forgotten.messages,
            emails=purged.emails + forgotten.emails,
            notifier_keys=forgotten.notifier_keys,
            notifier_steps=forgotten.notifier_steps,
        )
        # Before the commit: a crash between the two leaves rows still due, purged next time,
        # never a file that no purge would find again.
        await asyncio.to_thread(_remove_files, FileMailer(settings.mail_dir), purged.emails)
    if purged.total:
        # The WAL still holds the pages as they were before the purge.
        await db.checkpoint(wait=CHECKPOINT_WAIT)
    return purged


def _remove_files(mailer: FileMailer, keys: tuple[str, ...]) -> None:
    for key in keys:
        mailer.path_for(key).unlink(missing_ok=True)


async def keep_purging(db: Store, settings: Settings) -> None:
    """Purges now and every `retention_check_every`, until cancelled. Several workers may each
    do so: a purge is one transaction, and finds what another purged marked."""
    while True:
        try:
            purged = await purge_due(db, settings)
        except Exception as err:
            # Tried again next time, whatever failed (a store locked for long, say).
            log.warning("retention purge failed: %s", type(err).__name__)
        else:
            if purged.total:
                log.info(
                    "retention: purged %d request(s), %d answer(s), %d message(s)",
                    purged.requests,
                    purged.answers,
                    purged.messages,
                )
        await asyncio.sleep(settings.retention_check_every.total_seconds())


@asynccontextmanager
async def purging(db: Store, settings: Settings) -> AsyncIterator[None]:
    """`keep_purging` for as long as the block runs."""
    task = asyncio.create_task(keep_purging(db, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
