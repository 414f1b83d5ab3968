"""Events the plan marks as conversions: which property gives each field of the sale they record.

The collector stores such an event as any other; journeys/event_conversions.py then stores its sale through
the one function every conversion goes through (journeys/conversions.py), as an imported line would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tagplan.model import CONVERSION_FIELDS, Event, Plan


@dataclass(frozen=True)
class ConversionMap:
    """How one event's properties make a sale."""

    fields: Mapping[str, str]
    """Conversion field -> the event's property that gives it."""
    channel: str = ""
    """The channel when no property gives one."""


def conversion_map(plan: Plan, event: Event) -> ConversionMap:
    """The event's fields as its conversion section gives them, the others by the default rules (model.Conversion)."""
    conversion = event.conversion
    fields = dict(conversion.fields) if conversion else {}
    for field in CONVERSION_FIELDS:
        if field not in fields and field in event.properties:
            fields[field] = field
    for field, kind in (("phone", "phone"), ("crm_id", "crm")):
        if field not in fields:
            keys = [p for p in event.properties if p in plan.identity and plan.identity[p].type == kind]
            if keys:
                fields[field] = keys[0]
    return ConversionMap(fields, (conversion.channel or "") if conversion else "")


def conversion_maps(plan: Plan) -> dict[str, ConversionMap]:
    """Event name -> its ConversionMap, for the events marked as conversions."""
    return {name: conversion_map(plan, ev) for name, ev in plan.events.items() if ev.conversion is not None}
