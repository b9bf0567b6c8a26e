from django import forms

from portal.tokens.models import TokenScope

EXPIRY_CHOICES = [
    ("30", "in 30 days"),
    ("90", "in 90 days"),
    ("365", "in one year"),
    ("", "never"),
]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="What it is for, e.g. “CI” or “laptop”.")
    scope = forms.ChoiceField(
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text="A read-only token is refused on every request that changes something.",
    )
    expires_in = forms.ChoiceField(
        choices=EXPIRY_CHOICES, initial="90", required=False, label="Expires"
    )
