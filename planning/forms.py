"""Forms of the planning pages: a scenario, one change, a suggested plan's target."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from gridmap.models import School, SchoolStatus
from planning.models import Action, Scenario
from planning.suggest import BEYOND, TIME


class ScenarioForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Scenario
        fields = ["name", "description", "overflow_rule"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class ChangeForm(forms.Form):
    action = forms.ChoiceField(label=_("change"), choices=Action.choices)
    school = forms.ModelChoiceField(label=_("school"), queryset=School.objects.none(), to_field_name="code")
    into = forms.ModelChoiceField(label=_("merged into"), queryset=School.objects.none(), to_field_name="code",
                                  required=False)
    first_grade = forms.IntegerField(label=_("first grade"), min_value=1, max_value=9, required=False)
    last_grade = forms.IntegerField(label=_("last grade"), min_value=1, max_value=9, required=False)
    capacity = forms.IntegerField(label=_("approved places"), min_value=0, max_value=100_000, required=False)
    boarding = forms.TypedChoiceField(label=_("boarding"), required=False, empty_value=None,
                                      choices=[("", "—"), ("1", _("boards")), ("0", _("does not board"))],
                                      coerce=lambda v: v == "1")

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        self.fields["into"].queryset = schools.filter(status=SchoolStatus.OPEN)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = str(data.get("action") or "")
        need = {Action.MERGE.value: ["into"], Action.GRADES.value: ["first_grade", "last_grade"],
                Action.CAPACITY.value: ["capacity"], Action.BOARDING.value: ["boarding"]}.get(action, [])
        for name in need:
            if data.get(name) is None:
                self.add_error(name, _("This change needs it."))
        return data


class SuggestForm(forms.Form):
    close = forms.IntegerField(label=_("schools to close"), min_value=1, max_value=1000, required=False,
                               help_text=_("empty, with a pupil limit: as many as possible without more "
                                           "children beyond the norm"))
    max_pupils = forms.IntegerField(label=_("only schools with fewer pupils than"), min_value=1,
                                    max_value=100_000, required=False)
    objective = forms.ChoiceField(label=_("make smallest"), choices=[
        (TIME, _("the pupils' total travel time")), (BEYOND, _("the number of pupils beyond the norm"))])
    capacities = forms.BooleanField(label=_("respect capacities"), required=False, initial=True)
    fixed_open = forms.ModelMultipleChoiceField(label=_("keep open"), queryset=School.objects.none(),
                                                to_field_name="code", required=False)
    name = forms.CharField(label=_("name of the scenario"), max_length=100, required=False)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fixed_open"].queryset = schools.filter(status=SchoolStatus.OPEN)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("close") is None and data.get("max_pupils") is None:
            raise forms.ValidationError(_("Say how many schools to close, or below how many pupils a school may close."))
        return data


def compare_ids(raw: str, limit: int = 4) -> list[int] | None:
    """?ids=1,2,3 → [1, 2, 3]; None when malformed (the view answers 400)."""
    parts = [p for p in raw.split(",") if p]
    if not 2 <= len(parts) <= limit or not all(p.isdigit() and len(p) <= 12 for p in parts):
        return None
    ids = [int(p) for p in parts]
    return ids if len(set(ids)) == len(ids) else None
