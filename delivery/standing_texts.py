"""What the misuse guard's emails say (DESIGN rule 12): a step taken, a step ended.

Plain words: what was found, with its figures, what the step means, when it ends, and that a
moderator may be asked to review it. Counts only: never another person's name, address or
words (a notifier is written to at their own address and never named).
"""

from __future__ import annotations

from datetime import datetime

from delivery.texts import Text
from domain.enums import Finding, StandingStepKind, StandingSubject, StepEnd
from store.records import StandingStep

_SIGN_OFF = "Kind regards,\nThe Reviewdesk team\n"
_STEP_NAMES = {
    StandingStepKind.WARNING: "a warning",
    StandingStepKind.RESTRICTION: "a restriction",
    StandingStepKind.CONSUMER_WARNING: 'a public "Consumer warning"',
    StandingStepKind.SUSPENSION: "a suspension",
}
_MEANS = {
    StandingStepKind.WARNING: (
        "Nothing changes yet: this is a warning. Another finding like this one would lead to "
        "the next step."
    ),
    StandingStepKind.RESTRICTION: (
        "While it lasts you cannot contact reviewers or flag reviews; everything already open "
        "carries on as before."
    ),
    StandingStepKind.CONSUMER_WARNING: (
        'While it lasts your public page shows a "Consumer warning" telling readers that '
        "your business misused the reporting tools."
    ),
    StandingStepKind.SUSPENSION: (
        "While it lasts we do not accept notices from your address; notices already sent are "
        "still decided."
    ),
}


def _when(moment: datetime) -> str:
    return moment.strftime("%d %B %Y, %H:%M UTC")


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} %" if whole else "0 %"


def finding_words(step: StandingStep) -> str:
    """What was found, with the counts behind it."""
    f = step.figures
    if step.finding is Finding.REJECTED_FLAGS:
        decided, rejected = f.get("decided", 0), f.get("rejected", 0)
        return (
            f"Of the {decided} flags of yours that moderators decided recently, {rejected} "
            f"({_share(rejected, decided)}) were rejected: the reviews did not break our rules."
        )
    if step.finding is Finding.NEGATIVE_ONLY:
        flags, negative = f.get("flags", 0), f.get("negative", 0)
        return (
            f"Of the {flags} reviews you flagged recently, {negative} "
            f"({_share(negative, flags)}) were 1 or 2 star reviews: flagging reviews because "
            f"they are negative is not allowed."
        )
    decided, rejected = f.get("decided", 0), f.get("rejected", 0)
    return (
        f"Of the {decided} notices you sent us that moderators decided recently, {rejected} "
        f"({_share(rejected, decided)}) were found unfounded."
    )


def _about(step: StandingStep) -> str:
    """What a step is on: a business's account; a notifier has none, only their notices."""
    if step.subject_kind is StandingSubject.BUSINESS:
        return "on your account"
    return "on the notices you send us"


def _kept(step: StandingStep) -> str:
    if step.subject_kind is StandingSubject.BUSINESS:
        return "It stays in your account's record."
    return "We keep a record of it, without your name or email address."


def _greeting(subject_kind: StandingSubject, name: str | None) -> str:
    named = subject_kind is StandingSubject.BUSINESS and name
    return f"Hello {name},\n\n" if named else "Hello,\n\n"


def step_taken(step: StandingStep, name: str | None) -> Text:
    """To the business (``name``) or the notifier (no name) the step is about."""
    kind = _STEP_NAMES[step.kind]
    return Text(
        subject=f"Reviewdesk: {kind} {_about(step)}, until {_when(step.ends_at)}",
        body=(
            _greeting(step.subject_kind, name)
            + f"We have given you {kind}, from {_when(step.taken_at)} until "
            f"{_when(step.ends_at)}.\n\n"
            f"Why: {finding_words(step)}\n\n"
            f"What it means: {_MEANS[step.kind]}\n\n"
            "It ends by itself at that time. If you think it is wrong, reply to this email and "
            "ask for a moderator to review it; a moderator may lift it early.\n\n" + _SIGN_OFF
        ),
    )


def step_ended(step: StandingStep, name: str | None) -> Text:
    kind = _STEP_NAMES[step.kind]
    if step.end_reason is StepEnd.LIFTED:
        why = (
            f"A moderator lifted it early, on {_when(step.ended_at or step.taken_at)}, with this "
            f"note:\n\n  {step.lift_note}\n\n"
        )
    else:
        why = f"It expired on {_when(step.ended_at or step.ends_at)}.\n\n"
    return Text(
        subject=f"Reviewdesk: {kind} {_about(step)} has ended",
        body=(
            _greeting(step.subject_kind, name)
            + f"The {kind.removeprefix('a ')} we gave you on {_when(step.taken_at)} has ended. "
            + why
            + f"{_kept(step)}\n\n"
            + _SIGN_OFF
        ),
    )
