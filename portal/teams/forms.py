from typing import Any

from allauth.account.forms import SignupForm
from django import forms
from django.http import HttpRequest

from portal.accounts.models import User
from portal.customers.models import Invitation
from portal.customers.services import customer_onboard
from portal.http import client_ip
from portal.teams.services import invitation_accept, invitation_by_token

SESSION_TOKEN = "tollgate_invitation_token"  # portal.teams.views keeps the link's token there


def pending_invitation(request: HttpRequest | None) -> tuple[Invitation, str] | None:
    token = request.session.get(SESSION_TOKEN, "") if request is not None else ""
    invitation = invitation_by_token(token) if token else None
    if invitation is None or invitation.state != "pending":
        return None
    return invitation, token


class OrganisationSignupForm(SignupForm):
    """allauth's sign-up plus the organisation the new person owns — or, for someone who came
    through an invitation link, the organisation that invited them (no organisation of their own,
    and no confirmation email: the link reached that address)."""

    organisation = forms.CharField(
        label="Organisation",
        max_length=100,
        help_text="Your company or project; you can invite your teammates once you are in.",
        widget=forms.TextInput(
            attrs={"placeholder": "Acme Robotics", "autocomplete": "organization"}
        ),
    )

    field_order = ["organisation", "email", "password1", "password2"]

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        password = self.fields["password1"]
        password.help_text = "At least 8 characters; not a common password, nor like your email."
        self.invitation = pending_invitation(request)
        if self.invitation is not None:
            invitation = self.invitation[0]
            del self.fields["organisation"]
            self.fields["email"].initial = invitation.email
            self.fields[
                "email"
            ].help_text = f"The address {invitation.customer.name}'s invitation was sent to."

    def clean_organisation(self) -> str:
        name: str = self.cleaned_data["organisation"].strip()
        if len(name) < 2:
            raise forms.ValidationError("Enter an organisation name of at least 2 characters.")
        return name

    def clean_email(self) -> Any:
        email = super().clean_email()
        if self.invitation is not None and email.lower() != self.invitation[0].email:
            raise forms.ValidationError(
                f"This invitation is for {self.invitation[0].email}; sign up with that address, "
                "or sign up without the invitation to start an organisation of your own."
            )
        return email

    def save(self, request: HttpRequest) -> Any:
        user: User = super().save(request)
        if self.invitation is not None:
            invitation_accept(user=user, token=self.invitation[1], ip=client_ip(request))
            request.session.pop(SESSION_TOKEN, None)
        else:
            customer_onboard(
                owner=user,
                organisation_name=self.cleaned_data["organisation"],
                ip=client_ip(request),
            )
        return user
