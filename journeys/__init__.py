"""The analytical side of parcours: persons, conversions, reports and attribution over the collected events."""
