from typing import Any, cast

from django import forms

from portal.access import is_admin
from portal.tokens.models import TokenScope

# Every token expires, at most a year after it is made (portal.tokens.services.MAX_LIFETIME).
EXPIRY_CHOICES = [
    ("30", "in 30 days"),
    ("90", "in 90 days"),
    ("365", "in one year"),
]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="What it is for, e.g. “CI” or “laptop”.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text="A read-only token is refused on every request that changes something.",
    )
    expires_in = forms.ChoiceField(
        choices=EXPIRY_CHOICES,
        initial="90",
        label="Expires",
        help_text="Every token expires, at most a year from now.",
        error_messages={
            "required": "Choose when the token expires: at most one year from now.",
            "invalid_choice": "Choose when the token expires: at most one year from now.",
        },
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A leak-report token (for a secret scanner) is offered to admins only.
        if not is_admin(user):
            scope = cast(forms.ChoiceField, self.fields["scope"])
            scope.choices = [c for c in TokenScope.choices if c[0] != TokenScope.LEAKS]
