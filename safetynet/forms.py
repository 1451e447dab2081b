"""Forms of the safety-net pages: a transfer out, its receipt, the term parameter."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridmap import transfers
from gridmap.models import School, SchoolStatus, TransferScope
from importers.readers import damaged_text


def _not_future(day: datetime.date) -> datetime.date:
    if day > timezone.localdate():
        raise forms.ValidationError(_("The date cannot be later than today."))
    if day.year < 2000:
        raise forms.ValidationError(_("Enter a date from 2000 on."))
    return day


def _sound(text: str) -> str:
    why = damaged_text(text)
    if why is not None:
        raise forms.ValidationError(why)
    return text.strip()


class SchoolChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.township.name} · {obj.name}"


class TransferForm(forms.Form):
    date = forms.DateField(label=_("Transferred out on"), widget=forms.DateInput(attrs={"type": "date"}))
    scope = forms.ChoiceField(label=_("Destination"), choices=TransferScope.choices, widget=forms.RadioSelect,
                              initial=TransferScope.WITHIN)
    to_school = SchoolChoice(label=_("Receiving school (within the county)"), required=False,
                             queryset=School.objects.none())
    destination = forms.CharField(label=_("Province, county and school (outside the county)"), required=False,
                                  max_length=200)
    reason = forms.CharField(label=_("Reason"), max_length=300, initial="随父母务工转学")

    def __init__(self, *args: Any, child: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = (transfers.county_schools(settings.GRIDMAP_COUNTY_CODE).filter(status=SchoolStatus.OPEN)
                   .select_related("township").order_by("township__code", "kind", "code"))
        if child is not None and child.school_class_id:
            schools = schools.exclude(pk=child.school_class.school_id)
        self.fields["to_school"].queryset = schools  # type: ignore[attr-defined]

    def clean_date(self) -> datetime.date:
        return _not_future(self.cleaned_data["date"])

    def clean_destination(self) -> str:
        return _sound(self.cleaned_data["destination"])

    def clean_reason(self) -> str:
        return _sound(self.cleaned_data["reason"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") == TransferScope.WITHIN and not data.get("to_school"):
            self.add_error("to_school", _("Choose the receiving school."))
        if data.get("scope") == TransferScope.OUTSIDE and not data.get("destination"):
            self.add_error("destination", _("Write where the child goes: province, county and school."))
        return data


class ReceiptForm(forms.Form):
    date = forms.DateField(label=_("Receipt dated"), widget=forms.DateInput(attrs={"type": "date"}))
    number = forms.CharField(label=_("Receipt number"), max_length=60)

    def clean_date(self) -> datetime.date:
        return _not_future(self.cleaned_data["date"])

    def clean_number(self) -> str:
        return _sound(self.cleaned_data["number"])
