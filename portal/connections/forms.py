from __future__ import annotations

from typing import Any

from django import forms

from portal.connections.models import AwsConnection

EXTERNAL_ID_HELP = (
    "The value the role's trust policy asks for in sts:ExternalId. AWS recommends one whenever "
    "the account is someone else's (it stops another Tollgate user from pointing their "
    "connection at your role); a role in your own organisation may go without. Not a secret."
)


class ConnectionForm(forms.Form):
    """The fields a person types; the service (portal.connections.services) validates them."""

    name = forms.CharField(max_length=80)
    role_arn = forms.CharField(
        label="Role to assume (ARN)",
        max_length=2048,
        required=False,
        help_text="Blank: Tollgate's own credentials (its environment, profile, instance or task "
        "role). Otherwise Tollgate assumes this IAM role from them with STS AssumeRole.",
        widget=forms.TextInput(
            attrs={"placeholder": "arn:aws:iam::222222222222:role/TollgateAccess"}
        ),
    )
    external_id = forms.CharField(
        label="External id", max_length=1224, required=False, help_text=EXTERNAL_ID_HELP
    )
    regions = forms.CharField(
        max_length=1000,
        help_text="Region codes, separated by commas or spaces, e.g. us-east-1, eu-west-1.",
    )
    make_default = forms.BooleanField(
        label="The default connection",
        required=False,
        help_text="Where Tollgate works when nothing says otherwise.",
    )

    @classmethod
    def for_connection(cls, connection: AwsConnection, data: Any = None) -> ConnectionForm:
        return cls(
            data,
            initial={
                "name": connection.name,
                "role_arn": connection.role_arn,
                "external_id": connection.external_id,
                "regions": ", ".join(connection.regions),
                "make_default": connection.is_default,
            },
        )

    def region_list(self) -> list[str]:
        return str(self.cleaned_data["regions"]).replace(",", " ").split()
