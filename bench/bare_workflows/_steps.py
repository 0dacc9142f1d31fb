"""The bare engine's step, passed through the sandbox as Reviewdesk's ``workflows._steps`` is."""

from __future__ import annotations

from bench.bare_activities import BareActivities, BareStep
from workflows._steps import steps_send, store_step


# Steps run exactly as Reviewdesk's do (local activities since its v2, sending their messages
# since its v3), so the ratio compares like with like.
async def bare_step(name: str, *messages: str) -> None:
    steps_send()  # the same patch markers as a Reviewdesk workflow
    await store_step(BareActivities.step, BareStep(name=name, messages=list(messages)))
