"""Filter pieces every domain's list filters share (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from portal.rest.serializers import MAX_ID


class IdFilter(django_filters.NumberFilter):
    """A primary key in the query string: a whole number from 1 to MAX_ID, else a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
