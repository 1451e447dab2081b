"""The layer's query parameters, validated like any input: a bad value is a 400 with the reason."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridmap.models import KEY_GROUPS, Sex
from hotspots import data

LEVELS = [("group", _("village groups")), ("village", _("villages"))]


class HotspotForm(forms.Form):
    month = forms.CharField(label=_("month"), required=False, max_length=7)
    kg = forms.ChoiceField(label=_("key group"), required=False,
                           choices=[("", "—"), *[(k, KEY_GROUPS[f]) for k, f in data.KEY_GROUP_CHOICES.items()]])
    grade = forms.ChoiceField(label=_("grade due"), required=False,
                              choices=[("", "—"), *[(k, k) for k in data.GRADE_CHOICES]])
    sex = forms.ChoiceField(label=_("sex"), required=False, choices=[("", "—"), *Sex.choices])
    level = forms.ChoiceField(label=_("level"), required=False, choices=LEVELS)

    def clean_month(self) -> str:
        try:
            return data.month_of(self.cleaned_data.get("month"))
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def filters(self) -> data.Filters:
        d = self.cleaned_data
        return data.Filters(key_group=data.KEY_GROUP_CHOICES[d["kg"]] if d.get("kg") else "",
                            grade=d.get("grade") or "", sex=d.get("sex") or "")

    def error_dict(self) -> dict[str, Any]:
        return {"errors": {name: [str(e) for e in errors] for name, errors in self.errors.items()}}
