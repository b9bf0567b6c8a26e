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


BIGGEST_ID = 2**63 - 1  # BigAutoField's ceiling on every database Tollgate runs on


def parse_id(text: str | None) -> int | None:
    """A row id typed into a form or a query string, or None for anything else: str.isdigit()
    lets "²" through (int() refuses it) and a 30-digit number overflows the database driver."""
    text = (text or "").strip()
    if not text.isdecimal() or not text.isascii():
        return None
    number = int(text)
    return number if 0 < number <= BIGGEST_ID else None
