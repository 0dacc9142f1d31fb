"""The misuse guard's ladder (DESIGN rule 12), written once: each subject's steps in the order
they are taken, and which steps in force block which action.

The standing workflow's activity takes the next step from ``LADDER``; the store answers "is this
blocked?" from ``BLOCKS`` (``store.standing.blocking``); the pages, the banner and the
transparency figures list steps in ``LADDER``'s order.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.enums import GuardedAction, StandingStepKind, StandingSubject
from domain.refusals import Refusal

# A subject's steps, first to last: a finding takes the next one (the last one again past it).
LADDER: Mapping[StandingSubject, tuple[StandingStepKind, ...]] = {
    StandingSubject.BUSINESS: (
        StandingStepKind.WARNING,
        StandingStepKind.RESTRICTION,
        StandingStepKind.CONSUMER_WARNING,
    ),
    StandingSubject.NOTIFIER: (StandingStepKind.WARNING, StandingStepKind.SUSPENSION),
}

# The steps that, in force, block an action. A warning blocks nothing, and a consumer warning
# is a word to readers, not a block: the restriction before it has ended by then.
BLOCKS: Mapping[GuardedAction, frozenset[StandingStepKind]] = {
    GuardedAction.CONTACT: frozenset({StandingStepKind.RESTRICTION}),
    GuardedAction.FLAG: frozenset({StandingStepKind.RESTRICTION}),
    GuardedAction.NOTICE: frozenset({StandingStepKind.SUSPENSION}),
}

# Whose actions they are, and what a blocked one is answered.
ACTIONS: Mapping[StandingSubject, tuple[GuardedAction, ...]] = {
    StandingSubject.BUSINESS: (GuardedAction.CONTACT, GuardedAction.FLAG),
    StandingSubject.NOTIFIER: (GuardedAction.NOTICE,),
}
REFUSED_WITH: Mapping[GuardedAction, Refusal] = {
    GuardedAction.CONTACT: Refusal.BUSINESS_RESTRICTED,
    GuardedAction.FLAG: Refusal.BUSINESS_RESTRICTED,
    GuardedAction.NOTICE: Refusal.NOTIFIER_SUSPENDED,
}


def next_step(subject: StandingSubject, counted: int) -> StandingStepKind:
    """The step a finding takes when ``counted`` earlier steps still count."""
    ladder = LADDER[subject]
    return ladder[min(counted, len(ladder) - 1)]


def blocks(kind: StandingStepKind, subject: StandingSubject) -> bool:
    """Whether a step of this kind in force blocks any of the subject's actions."""
    return any(kind in BLOCKS[action] for action in ACTIONS[subject])
