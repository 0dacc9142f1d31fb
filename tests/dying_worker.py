"""``worker.py`` that kills itself with SIGKILL at the worst moment: right after a step's write.

``python -m tests.dying_worker`` runs the real worker; with ``SURVIVE_DIE_AFTER=apply_decision:N``
the process is killed (kill -9, no clean-up, no reply to Temporal) the moment the N-th moderator
decision it applies has committed to the store. The retry on the next worker must then find the
decision applied and add nothing: no second email, no second webhook event, no second history.

``SURVIVE_DIE_AFTER=mail_file:N`` (a worker that writes mail as files) dies right after the N-th
reviewer's request email is written to its .eml file, before the outbox marks it sent.
"""

from __future__ import annotations

import os
import signal
from email.message import Message

from temporalio import activity

import worker
from activities.report import ReportActivities
from delivery.mail import FileMailer
from domain.messages import ApplyDecisionInput

_ACTIVITY, _, _N = os.environ.get("SURVIVE_DIE_AFTER", "apply_decision:0").partition(":")
_applied = 0
_written = 0


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


if __name__ == "__main__":
    if _ACTIVITY == "mail_file":
        vars(worker)["mailer_for"] = lambda settings: DyingFileMailer(settings.mail_dir)
    # default_activities() builds the worker's activities from this module global.
    vars(worker)["ReportActivities"] = DyingReportActivities
    worker.main()
