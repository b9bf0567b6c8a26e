from typing import Any

from django import forms

from plans.models import ApiStage, Plan, QuotaPeriod
from plans.services import PLAN_FIELDS


class StageChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        stage: ApiStage = obj
        return f"{stage.api_name} · {stage.stage_name} ({stage.rest_api_id})"


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
        self.fields["stages"].queryset = offered.distinct()  # type: ignore[attr-defined]
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
