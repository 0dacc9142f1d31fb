"""What workflows, activities, the store and the starters share: names, enums and messages."""

DEFAULT_TASK_QUEUE = "reviewdesk"


def contact_workflow_id(review_id: str) -> str:
    return f"contact-{review_id}"


def report_workflow_id(review_id: str) -> str:
    return f"report-{review_id}"


def message_workflow_id(key: str) -> str:
    """Outbox keys are made of ids and event names only, so they may name a workflow."""
    return f"message-{key}"
