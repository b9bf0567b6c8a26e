from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def apply_service_errors(form: forms.BaseForm, exc: ValidationError) -> None:
    """Show a service's validation errors on the form fields they name."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = field if field in form.fields and field != NON_FIELD_ERRORS else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)
