"""Each key's last 30 days of traffic as a small server-drawn SVG, on the key pages (which are
keys', a layer below this one: they load this library, `{% load key_usage %}`, rather than
import portal.usage).

    {% key_sparklines keys as sparklines %}   one query for the whole list (or one key)
    {% sparkline sparklines key %}            that key's <svg>, no script, no style
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from keys.models import ApiKey
from portal.usage.models import UsageDay

register = template.Library()

DAYS = 30
BAR, GAP, HEIGHT = 3, 1, 24


@dataclass
class Sparkline:
    first_day: datetime.date
    used: list[int] = field(default_factory=lambda: [0] * DAYS)

    @property
    def total(self) -> int:
        return sum(self.used)

    @property
    def peak(self) -> int:
        return max(self.used)


@register.simple_tag
def key_sparklines(keys: ApiKey | Iterable[ApiKey]) -> dict[int, Sparkline]:
    """Requests per day over the last 30 UTC days of each key, in one query (UsageDay)."""
    chosen = [keys] if isinstance(keys, ApiKey) else list(keys)
    first_day = timezone.now().date() - datetime.timedelta(days=DAYS - 1)
    lines = {key.pk: Sparkline(first_day) for key in chosen}
    if not lines:
        return lines
    for key_id, day, used in UsageDay.objects.filter(
        key_id__in=list(lines), date__gte=first_day
    ).values_list("key_id", "date", "used"):
        offset = (day - first_day).days
        if 0 <= offset < DAYS:
            lines[key_id].used[offset] += used
    return lines


def _day_label(day: datetime.date, used: int) -> str:
    return f"{day:%b} {day.day}: {used:,} request{'s' if used != 1 else ''}"


@register.simple_tag
def sparkline(lines: dict[int, Sparkline], key: ApiKey) -> SafeString:
    line = lines.get(key.pk)
    if line is None:
        return SafeString("")
    width = DAYS * (BAR + GAP) - GAP
    peak = line.peak
    bars = (
        (
            offset * (BAR + GAP),
            HEIGHT - (h := max(1, round(used * (HEIGHT - 2) / peak))),
            BAR,
            h,
            _day_label(line.first_day + datetime.timedelta(days=offset), used),
        )
        for offset, used in enumerate(line.used)
        if used
    )
    label = (
        f"Requests per day, last {DAYS} days: {line.total:,} in all, at most {peak:,} a day"
        if peak
        else f"No requests in the last {DAYS} days"
    )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{label}" focusable="false"><title>{label}</title>'
        '<line x1="0" y1="{base}" x2="{w}" y2="{base}" stroke="currentColor" '
        'stroke-opacity="0.3" stroke-width="1"/>{bars}</svg>',
        w=width,
        h=HEIGHT,
        base=HEIGHT - 0.5,
        label=label,
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" fill="currentColor"><title>{}</title></rect>',
            bars,
        ),
    )
