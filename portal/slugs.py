"""The one way Tollgate turns a name into a slug nobody else has."""

from typing import Any

from django.db import models
from django.utils.text import slugify


def unique_slug(
    queryset: models.QuerySet[Any], name: str, *, fallback: str, max_length: int = 60
) -> str:
    """slugify(name), or `fallback` for a name with no letters, with -2, -3, … until free."""
    base = slugify(name)[:max_length] or fallback
    slug, n = base, 1
    while queryset.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
