import re
from typing import Any

from django import forms
from django.db.models import QuerySet

from plans.methods import METHOD_FORMAT, MethodFormatError, method_label, parse_method
from plans.models import (
    MAX_BURST,
    MAX_RATE,
    ApiStage,
    MethodThrottle,
    Plan,
    QuotaPeriod,
)
from plans.services import PLAN_FIELDS


class StageChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        stage: ApiStage = obj
        return f"{stage.api_name} · {stage.stage_name} in {stage.where} ({stage.rest_api_id})"


class TierForm(forms.ModelForm[Plan]):
    stages = StageChoiceField(
        queryset=ApiStage.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The API stages this tier's keys may call.",
    )
    quota_period = forms.ChoiceField(
        choices=[("", "No quota"), *QuotaPeriod.choices], required=False, label="Quota period"
    )

    class Meta:
        model = Plan
        fields = list(PLAN_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "throttle_rate": forms.NumberInput(attrs={"step": "0.01", "placeholder": "e.g. 10"}),
            "throttle_burst": forms.NumberInput(attrs={"placeholder": "e.g. 20"}),
            "quota_limit": forms.NumberInput(attrs={"placeholder": "e.g. 10000"}),
            "monthly_price": forms.NumberInput(attrs={"step": "0.01", "placeholder": "Free"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = ApiStage.objects.filter(available=True, missing_since__isnull=True)
        if self.instance.pk:
            offered = offered | self.instance.stages.all()
        self.fields["stages"].queryset = offered.distinct().select_related("connection")  # type: ignore[attr-defined]
        if self.instance.pk:
            self.initial["stages"] = list(self.instance.stages.values_list("pk", flat=True))
        self.fields["quota_offset"].required = False

    def validate_unique(self) -> None:
        """Uniqueness and the one-default rule are the service's to check (plans.services)."""

    def clean_quota_offset(self) -> int:
        value = self.cleaned_data.get("quota_offset")
        return 0 if value in (None, "") else int(value)

    def tier_data(self) -> dict[str, Any]:
        return {field: self.cleaned_data.get(field) for field in PLAN_FIELDS}


PREFIX = "mt"


class StageField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        stage: ApiStage = obj
        return f"{stage.api_name} · {stage.stage_name} ({stage.where})"


class MethodThrottleForm(forms.Form):
    """One per-method limit: a stage, "GET /forecast", a rate and a burst."""

    stage = StageField(queryset=ApiStage.objects.none(), required=False, empty_label="Stage…")
    method = forms.CharField(
        label="Method",
        max_length=270,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "GET /forecast", "list": "tier-methods"}),
    )
    rate = forms.DecimalField(
        label="Rate (req/s)",
        required=False,
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    burst = forms.IntegerField(label="Burst", required=False)

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(f) not in (None, "") for f in ("method", "rate", "burst"))

    def clean_method(self) -> tuple[str, str] | None:
        text = self.cleaned_data.get("method") or ""
        if not text.strip():
            return None
        try:
            return parse_method(text)
        except MethodFormatError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.is_blank() or self.cleaned_data.get("DELETE"):
            return data
        required = {
            "stage": "Choose the stage this method belongs to.",
            "method": METHOD_FORMAT,
            "rate": f"Set a rate above 0 and up to {MAX_RATE:,} requests per second.",
            "burst": f"Set a burst from 1 to {MAX_BURST:,} requests.",
        }
        for field, message in required.items():
            if field not in self.errors and data.get(field) in (None, ""):
                self.add_error(field, message)
        return data

    def throttle_data(self) -> dict[str, Any]:
        verb, path = self.cleaned_data["method"]
        return {
            "stage": self.cleaned_data["stage"],
            "resource_path": path,
            "http_method": verb,
            "rate": self.cleaned_data["rate"],
            "burst": self.cleaned_data["burst"],
        }


class BaseMethodThrottleFormSet(forms.BaseFormSet[MethodThrottleForm]):
    def __init__(self, *args: Any, stages: QuerySet[ApiStage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for form in self.forms:
            form.fields["stage"].queryset = stages  # type: ignore[attr-defined]

    def _construct_form(self, i: int, **kwargs: Any) -> MethodThrottleForm:
        # Every row is read, even one equal to its initial values: the posted rows are the
        # tier's whole set of limits, whatever INITIAL_FORMS says. Blank rows are skipped.
        form: MethodThrottleForm = super()._construct_form(  # type: ignore[misc]
            i, **{**kwargs, "empty_permitted": False}
        )
        return form

    def kept(self) -> list[MethodThrottleForm]:
        """The filled-in rows, in order (blank rows and rows marked for removal are skipped)."""
        return [f for f in self.forms if not f.is_blank() and not f.cleaned_data.get("DELETE")]

    def throttles_data(self) -> list[dict[str, Any]] | None:
        """The rows for plan_create/plan_update; None when the post had no such section."""
        if not self.is_bound:
            return None
        return [form.throttle_data() for form in self.kept()]

    def apply_service_errors(self, errors: dict[str, list[str]]) -> bool:
        """Put the service's ``method_throttles.<row>.<field>`` errors on their rows' fields;
        True when there were any."""
        kept = self.kept()
        found = False
        for key, messages in errors.items():
            match = re.fullmatch(r"method_throttles\.(\d+)\.(\w+)", key)
            if match is None or int(match[1]) >= len(kept):
                continue
            field = {"resource_path": "method", "http_method": "method"}.get(match[2], match[2])
            form = kept[int(match[1])]
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
            found = True
        return found


MethodThrottleFormSet = forms.formset_factory(
    MethodThrottleForm, formset=BaseMethodThrottleFormSet, extra=2, can_delete=True
)


def method_throttle_formset(
    data: Any, tier_form: TierForm, plan: Plan | None
) -> BaseMethodThrottleFormSet:
    initial = [
        {
            "stage": t.stage_id,
            "method": method_label(t.http_method, t.resource_path),
            "rate": t.rate,
            "burst": t.burst,
        }
        for t in (
            plan.method_throttles.all() if plan is not None else MethodThrottle.objects.none()
        )
    ]
    stages = tier_form.fields["stages"].queryset  # type: ignore[attr-defined]
    if data is not None and f"{PREFIX}-TOTAL_FORMS" not in data:
        data = None  # a post without the section (a script, an old page) leaves the limits be
    formset_class: Any = MethodThrottleFormSet
    formset: BaseMethodThrottleFormSet = formset_class(
        data, initial=initial, prefix=PREFIX, stages=stages
    )
    return formset


def method_suggestions(tier_form: TierForm) -> list[str]:
    """ "GET /forecast" for each method in the offered stages' stored OpenAPI documents."""
    found: set[str] = set()
    for stage in tier_form.fields["stages"].queryset:  # type: ignore[attr-defined]
        found.update(stage.operations or [])
    return sorted(found)
