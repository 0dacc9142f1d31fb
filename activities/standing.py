"""The steps of a business's or a notifier's standing (DESIGN rule 12): placeholder."""

from __future__ import annotations

from activities._steps import ProcessSteps


class StandingActivities(ProcessSteps):
    pass
