"""The misuse guard's ladder (DESIGN rule 12): each step a record, in force until it ends.

A step ends when its standing workflow's timer fires (expired) or a moderator lifts it; "in
force" is only ``ended_at IS NULL``, so the workflow's durable timer is the one clock that ends
a step, across restarts and under a test server's skipped time alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from domain.enums import GuardedAction, StandingStepKind, StandingSubject, StepEnd
from domain.ladder import BLOCKS
from store.connection import Connection, Row
from store.records import StandingStep, fetch_all, fetch_one, ts

_COLUMNS = (
    "id, subject_kind, subject_id, kind, finding, figures, taken_at, ends_at, ended_at,"
    " end_reason, lifted_by, lift_note"
)


def _step(row: Row) -> StandingStep:
    data = dict(row)
    data["figures"] = json.loads(data["figures"])
    return StandingStep.model_validate(data)


async def add_step(conn: Connection, step: StandingStep) -> None:
    await conn.execute(
        f"INSERT INTO standing_steps ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            step.id,
            step.subject_kind.value,
            step.subject_id,
            step.kind.value,
            step.finding.value,
            json.dumps(step.figures, sort_keys=True),
            ts(step.taken_at),
            ts(step.ends_at),
            ts(step.ended_at) if step.ended_at else None,
            step.end_reason.value if step.end_reason else None,
            step.lifted_by,
            step.lift_note,
        ),
    )


async def get_step(conn: Connection, step_id: str) -> StandingStep | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM standing_steps WHERE id = ?", (step_id,))
    return _step(row) if row else None


async def steps_of(
    conn: Connection, subject_kind: StandingSubject, subject_id: str
) -> list[StandingStep]:
    """Every step of one business or notifier, newest first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE subject_kind = ? AND subject_id = ?"
        " ORDER BY taken_at DESC, id DESC",
        (subject_kind.value, subject_id),
    )
    return [_step(r) for r in rows]


async def in_force(
    conn: Connection,
    subject_kind: StandingSubject,
    subject_id: str,
    kinds: Iterable[StandingStepKind] | None = None,
) -> list[StandingStep]:
    """The subject's steps in force (of these kinds), newest first."""
    wanted = [k.value for k in kinds] if kinds is not None else [k.value for k in StandingStepKind]
    marks = ", ".join("?" for _ in wanted)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE subject_kind = ? AND subject_id = ?"
        f" AND ended_at IS NULL AND kind IN ({marks}) ORDER BY taken_at DESC, id DESC",
        (subject_kind.value, subject_id, *wanted),
    )
    return [_step(r) for r in rows]


async def blocking(
    conn: Connection, subject_kind: StandingSubject, subject_id: str, action: GuardedAction
) -> StandingStep | None:
    """The newest step in force that blocks the subject's action (``domain.ladder.BLOCKS``), or
    None while nothing does."""
    found = await in_force(conn, subject_kind, subject_id, BLOCKS[action])
    return found[0] if found else None


async def end_step(
    conn: Connection,
    step_id: str,
    *,
    at: datetime,
    end: StepEnd,
    lifted_by: str | None = None,
    note: str | None = None,
) -> bool:
    """Ends a step in force; False if it had ended already (a timer and a lift may cross)."""
    ended = await conn.execute(
        "UPDATE standing_steps SET ended_at = ?, end_reason = ?, lifted_by = ?, lift_note = ?"
        " WHERE id = ? AND ended_at IS NULL",
        (ts(at), end.value, lifted_by, note, step_id),
    )
    return bool(ended)


async def set_lift_key(conn: Connection, step_id: str, key: str) -> None:
    await conn.execute("UPDATE standing_steps SET lift_key = ? WHERE id = ?", (key, step_id))


async def lifted_with_key(
    conn: Connection, subject_kind: StandingSubject, subject_id: str, moderator_id: str, key: str
) -> list[StandingStep]:
    """The steps this moderator's lift under this Idempotency-Key ended (none: not yet)."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE subject_kind = ? AND subject_id = ?"
        " AND lifted_by = ? AND lift_key = ? ORDER BY taken_at DESC, id DESC",
        (subject_kind.value, subject_id, moderator_id, key),
    )
    return [_step(r) for r in rows]


async def steps_between(conn: Connection, start: datetime, end: datetime) -> list[StandingStep]:
    """Steps taken in [start, end), oldest first: what the transparency figures count."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE taken_at >= ? AND taken_at < ?"
        " ORDER BY taken_at, id",
        (ts(start), ts(end)),
    )
    return [_step(r) for r in rows]


async def steps_in_force(conn: Connection, *, limit: int, offset: int = 0) -> list[StandingStep]:
    """Every step in force, newest first, a page at a time: what reconcile checks."""
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE ended_at IS NULL"
        " ORDER BY taken_at DESC, id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [_step(r) for r in rows]


async def subjects_in_force(
    conn: Connection, *, limit: int, offset: int = 0
) -> list[list[StandingStep]]:
    """The businesses and notifiers with a step in force, a page of subjects at a time, the one
    with the newest step first; each with its steps in force, newest first. The moderators' view
    of the ladder: a business with a warning and a restriction in force is one subject."""
    subjects = await fetch_all(
        conn,
        "SELECT subject_kind, subject_id, MAX(taken_at) AS latest FROM standing_steps"
        " WHERE ended_at IS NULL GROUP BY subject_kind, subject_id"
        " ORDER BY latest DESC, subject_kind, subject_id LIMIT ? OFFSET ?",
        (limit, offset),
    )
    if not subjects:
        return []
    wanted = [(r[0], r[1]) for r in subjects]
    either = " OR ".join("(subject_kind = ? AND subject_id = ?)" for _ in wanted)
    rows = await fetch_all(
        conn,
        f"SELECT {_COLUMNS} FROM standing_steps WHERE ended_at IS NULL AND ({either})"
        " ORDER BY taken_at DESC, id DESC",
        tuple(v for pair in wanted for v in pair),
    )
    steps: dict[tuple[str, str], list[StandingStep]] = {pair: [] for pair in wanted}
    for row in rows:
        step = _step(row)
        steps[step.subject_kind.value, step.subject_id].append(step)
    # A subject whose last step ended between the two reads is left out, not shown empty.
    return [found for found in steps.values() if found]
