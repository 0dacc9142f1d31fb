"""What workflows, activities, the store and the starters share: names, enums and messages."""

DEFAULT_TASK_QUEUE = "reviewdesk"


def contact_workflow_id(review_id: str) -> str:
    return f"contact-{review_id}"


def report_workflow_id(review_id: str) -> str:
    """A report after a contact: one per review for ever (a reported review is never contacted
    again), so the review names it, as it did before other reasons existed."""
    return f"report-{review_id}"


def moderation_workflow_id(report_id: str) -> str:
    """A report from a flag or a notice: a review may be reported for several reasons over its
    life, so the report names it."""
    return f"report-{report_id}"


def report_workflow_id_of(report_id: str, review_id: str, *, after_contact: bool) -> str:
    """Where a report's workflow runs, whichever way it came."""
    return report_workflow_id(review_id) if after_contact else moderation_workflow_id(report_id)


def flag_workflow_id(flag_id: str) -> str:
    return f"flag-{flag_id}"


def notice_workflow_id(notice_id: str) -> str:
    return f"notice-{notice_id}"


def appeal_workflow_id(decision_id: str) -> str:
    """One appeal per decision: a second one finds this id taken."""
    return f"appeal-{decision_id}"


def standing_workflow_id(subject_kind: str, subject_id: str) -> str:
    """A business's or a notifier's standing (DESIGN rule 12): one long-lived workflow each. A
    notifier is named by ``Links.notifier_key``, a keyed hash: never their address."""
    return f"standing-{subject_kind}-{subject_id}"


def ticket_workflow_id(review_id: str) -> str:
    """A ticket per review (DESIGN rule 15), for the review's life."""
    return f"ticket-{review_id}"


def message_workflow_id(key: str) -> str:
    """Outbox keys are made of ids and event names only, so they may name a workflow."""
    return f"message-{key}"
