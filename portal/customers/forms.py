from typing import Any

from allauth.account.forms import SignupForm
from django import forms
from django.http import HttpRequest

from portal.accounts.models import User
from portal.customers.services import customer_onboard
from portal.http import client_ip


class OrganisationSignupForm(SignupForm):
    """allauth's sign-up plus the organisation the new person owns."""

    organisation = forms.CharField(
        label="Organisation",
        max_length=100,
        help_text="Your company or project; teammates can join it later.",
        widget=forms.TextInput(
            attrs={"placeholder": "Acme Robotics", "autocomplete": "organization"}
        ),
    )

    field_order = ["organisation", "email", "password1", "password2"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        password = self.fields["password1"]
        password.help_text = "At least 8 characters; not a common password, nor like your email."

    def clean_organisation(self) -> str:
        name: str = self.cleaned_data["organisation"].strip()
        if len(name) < 2:
            raise forms.ValidationError("Enter an organisation name of at least 2 characters.")
        return name

    def save(self, request: HttpRequest) -> Any:
        user: User = super().save(request)
        customer_onboard(
            owner=user, organisation_name=self.cleaned_data["organisation"], ip=client_ip(request)
        )
        return user
