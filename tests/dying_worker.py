"""``worker.py`` that kills itself with SIGKILL at the worst moment: right after a step's write.

``python -m tests.dying_worker`` runs the real worker; with ``SURVIVE_DIE_AFTER=apply_decision:N``
the process is killed (kill -9, no clean-up, no reply to Temporal) the moment the N-th moderator
decision it applies has committed to the store. The retry on the next worker must then find the
decision applied and add nothing: no second email, no second webhook event, no second history.

``SURVIVE_DIE_AFTER=mail_file:N`` (a worker that writes mail as files) dies right after the N-th
reviewer's request email is written to its .eml file, before the outbox marks it sent.

``SURVIVE_DIE_AFTER=publish_committed:N`` dies in the N-th public reply's publish step right after
its transaction committed, before it hands the ``reply.published`` event over or answers;
``publish_uncommitted:N`` dies inside that transaction, the reply inserted and not committed.
"""

from __future__ import annotations

import os
import signal
from email.message import Message
from typing import Any

from temporalio import activity

import worker
from activities.replies import ReplyActivities
from activities.report import ReportActivities
from delivery.mail import FileMailer
from domain.enums import WebhookEvent
from domain.messages import ApplyDecisionInput, DeliveryPolicy
from store import replies

_ACTIVITY, _, _N = os.environ.get("SURVIVE_DIE_AFTER", "apply_decision:0").partition(":")
_applied = 0
_written = 0
_published = 0


def _die_at_publish(mode: str) -> None:
    global _published
    if mode == _ACTIVITY:
        _published += 1
        if _published == int(_N):
            os.kill(os.getpid(), signal.SIGKILL)


class DyingReportActivities(ReportActivities):
    @activity.defn(name="apply_decision")
    async def apply_decision(self, inp: ApplyDecisionInput) -> list[str]:
        global _applied
        keys = await super().apply_decision(inp)
        _applied += 1
        if _ACTIVITY == "apply_decision" and _applied == int(_N):
            os.kill(os.getpid(), signal.SIGKILL)
        return keys


class DyingFileMailer(FileMailer):
    async def send(self, key: str, email: Message) -> None:
        global _written
        await super().send(key, email)
        if _ACTIVITY == "mail_file" and key.endswith(":contact.requested:reviewer"):
            _written += 1
            if _written == int(_N):
                os.kill(os.getpid(), signal.SIGKILL)


class DyingReplyActivities(ReplyActivities):
    """Its publish step hands its messages over only once its transaction has committed: dying
    there is dying between the commit and the step's answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        to = self.hand_over

        async def dying_hand_over(keys: list[str], policy: DeliveryPolicy) -> None:
            if any(f":{WebhookEvent.REPLY_PUBLISHED.value}:" in k for k in keys):
                _die_at_publish("publish_committed")
            assert to is not None
            await to(keys, policy)

        self.hand_over = dying_hand_over


_publish_in_store = replies.publish


async def _publish_and_die(*args: Any, **kwargs: Any) -> Any:
    # Inside the step's transaction: the reply is inserted, nothing is committed.
    reply = await _publish_in_store(*args, **kwargs)
    _die_at_publish("publish_uncommitted")
    return reply


if __name__ == "__main__":
    if _ACTIVITY == "publish_uncommitted":
        vars(replies)["publish"] = _publish_and_die
    vars(worker)["ReplyActivities"] = DyingReplyActivities
    if _ACTIVITY == "mail_file":
        vars(worker)["mailer_for"] = lambda settings: DyingFileMailer(settings.mail_dir)
    # default_activities() builds the worker's activities from this module global.
    vars(worker)["ReportActivities"] = DyingReportActivities
    worker.main()
