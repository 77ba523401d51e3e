"""What the scenario tests share."""

from vroom.scenario import Scenario


def two_in_the_room_s(scenario: Scenario) -> float:
    """When two people can have been in the scenario's room for 3 s (random joins: the latest they can join)."""
    joins = sorted(p.join if isinstance(p.join, int) else p.join[1][1] for p in scenario.participants)
    return joins[min(1, len(joins) - 1)] / 1e6 + 3.0
