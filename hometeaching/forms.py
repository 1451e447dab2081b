"""Forms of the send-teaching-home pages: the plan (一人一案), a visit's record, a term goal."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gridmap.models import (
    Area,
    Child,
    ContentArea,
    HomeTeachingPlan,
    HomeVisit,
    PlanGoal,
    School,
    TeachingPlace,
    Term,
)


class PlanForm(forms.ModelForm):  # type: ignore[type-arg]
    content = forms.MultipleChoiceField(label=_("content areas"), choices=ContentArea.choices, required=False,
                                        widget=forms.CheckboxSelectMultiple)
    place_lonlat = forms.CharField(
        label=_("institution's location (longitude, latitude)"), required=False, max_length=60,
        help_text=_("for a welfare home or an institution: where the teachers go, e.g. 120.2414, 29.2896"))
    days = forms.MultipleChoiceField(
        label=_("preferred weekdays"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(str(i), label) for i, label in enumerate(["一", "二", "三", "四", "五", "六", "日"], 1)])

    class Meta:
        model = HomeTeachingPlan
        fields = ["place", "place_name", "disability_level", "teachers", "visits_per_week", "hours_per_visit",
                  "available_from",
                  "available_until", "guardian_name", "guardian_phone", "plan", "end_date"]
        widgets = {"available_from": forms.TimeInput(attrs={"type": "time"}),
                   "available_until": forms.TimeInput(attrs={"type": "time"}),
                   "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "plan": forms.Textarea(attrs={"rows": 3}),
                   "teachers": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, teachers: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if teachers is not None:
            self.fields["teachers"].queryset = teachers  # type: ignore[attr-defined]
        # who is a man matters (the male-teacher rule): show it beside each name
        self.fields["teachers"].label_from_instance = lambda p: f"{p.name}（{p.get_sex_display()}）"  # type: ignore[attr-defined]
        self.fields["content"].initial = [a for a in self.instance.content_areas.split(",") if a]
        self.fields["days"].initial = [d for d in self.instance.preferred_days.split(",") if d]
        where = self.instance.place_location
        self.fields["place_lonlat"].initial = f"{where.x:.6f}, {where.y:.6f}" if where is not None else ""
        # the field after the place's name, not at the end
        order = list(self.fields)
        order.remove("place_lonlat")
        order.insert(order.index("place_name") + 1, "place_lonlat")
        self.order_fields(order)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("visits_per_week") is not None and data["visits_per_week"] < settings.GRIDMAP_HOME_VISITS_PER_WEEK:
            self.add_error("visits_per_week", _("The province asks for at least %(n)s visit(s) a week.")
                           % {"n": settings.GRIDMAP_HOME_VISITS_PER_WEEK})
        if data.get("hours_per_visit") is not None and data["hours_per_visit"] < settings.GRIDMAP_HOME_HOURS_PER_VISIT:
            self.add_error("hours_per_visit", _("The province asks for at least %(n)s class hours a visit.")
                           % {"n": settings.GRIDMAP_HOME_HOURS_PER_VISIT})
        if data.get("visits_per_week") and data["visits_per_week"] > 7:
            self.add_error("visits_per_week", _("At most 7 visits a week."))
        if data.get("hours_per_visit") and data["hours_per_visit"] > 8:
            self.add_error("hours_per_visit", _("At most 8 class hours a visit."))
        a, b = data.get("available_from"), data.get("available_until")
        if a and b and a >= b:
            self.add_error("available_until", _("The end must come after the start."))
        end, start = data.get("end_date"), data.get("start_date", self.instance.start_date)
        if end and start and end < start:
            self.add_error("end_date", _("The plan cannot end before it starts."))
        teachers = list(data.get("teachers") or [])
        if "teachers" in self.fields and "teachers" not in self.errors:
            if len(teachers) < 2:
                self.add_error("teachers", _("At least two teachers go on every visit."))
            elif not any(t.sex == "M" for t in teachers):
                self.add_error("teachers", _("At least one of the teachers must be a man."))
        self._clean_place(data)
        phone = (data.get("guardian_phone") or "").replace(" ", "").replace("-", "")
        if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
            self.add_error("guardian_phone", _("Give a phone number of 7 to 12 digits."))
        return data

    def _clean_place(self, data: dict[str, Any]) -> None:
        """A welfare home or an institution needs its name and where it is (inside the county's
        outline); at home, neither is kept."""
        text = (data.get("place_lonlat") or "").replace("，", ",").strip()
        data["place_point"] = None
        if data.get("place") in (None, TeachingPlace.HOME):
            data["place_name"] = ""
            return
        if not (data.get("place_name") or "").strip():
            self.add_error("place_name", _("Give the name of the welfare home or institution."))
        parts = [p for p in text.replace(" ", ",").split(",") if p]
        try:
            lon, lat = (float(v) for v in parts)
        except ValueError:
            self.add_error("place_lonlat", _("Give the longitude and the latitude, e.g. 120.2414, 29.2896."))
            return
        point = Point(lon, lat, srid=4326)
        county = Area.objects.filter(level="county", code=str(settings.GRIDMAP_COUNTY_CODE)[:6]).first()
        if not (math.isfinite(lon) and math.isfinite(lat)) or (county is not None and not county.geom.covers(point)):
            self.add_error("place_lonlat", _("This place lies outside the county."))
            return
        data["place_point"] = point

    def save(self, commit: bool = True) -> HomeTeachingPlan:
        self.instance.place_location = self.cleaned_data.get("place_point")
        self.instance.content_areas = ",".join(self.cleaned_data.get("content") or [])
        self.instance.preferred_days = ",".join(self.cleaned_data.get("days") or [])
        return super().save(commit)  # type: ignore[no-any-return]


class VisitForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = HomeVisit
        fields = ["date", "start_time", "end_time", "class_hours", "teachers", "content", "progress", "notes",
                  "guardian_signed", "guardian_signature"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"}), "start_time": forms.TimeInput(attrs={"type": "time"}),
                   "end_time": forms.TimeInput(attrs={"type": "time"}), "teachers": forms.CheckboxSelectMultiple,
                   "content": forms.Textarea(attrs={"rows": 2}), "progress": forms.Textarea(attrs={"rows": 2}),
                   "notes": forms.Textarea(attrs={"rows": 1})}

    def __init__(self, *args: Any, teachers: Any = None, plan: HomeTeachingPlan | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plan = plan
        if teachers is not None:
            self.fields["teachers"].queryset = teachers  # type: ignore[attr-defined]
        self.fields["teachers"].required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        a, b = data.get("start_time"), data.get("end_time")
        if a and b and a >= b:
            self.add_error("end_time", _("The end must come after the start."))
        if data.get("guardian_signed") and not (data.get("guardian_signature") or "").strip():
            self.add_error("guardian_signature", _("Give the name of who signed."))
        day = data.get("date")
        if day and self.plan is not None and (day < self.plan.start_date or (self.plan.end_date and day > self.plan.end_date)):
            self.add_error("date", _("The date lies outside the plan."))
        hours = data.get("class_hours")
        if hours is not None and hours > 8:
            self.add_error("class_hours", _("At most 8 class hours a visit."))
        return data


class GoalForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = PlanGoal
        fields = ["school_year", "term", "area", "goal", "result", "review", "reviewed_on"]
        widgets = {"goal": forms.Textarea(attrs={"rows": 2}), "review": forms.Textarea(attrs={"rows": 1}),
                   "reviewed_on": forms.DateInput(attrs={"type": "date"})}

    def clean_school_year(self) -> int:
        year = int(self.cleaned_data["school_year"])
        if not 2000 <= year <= 2100:
            raise forms.ValidationError(_("Give a school year such as 2026."))
        return year


TERMS = Term


def ineligible(child: Child, on: date) -> str | None:
    """Why this child cannot be given a new send-teaching-home plan (None: it can): the plan is for a
    disabled school-age child who has none in force or to come."""
    if not child.kg_disabled:
        return str(_("The child is not registered as disabled."))
    if not Child.objects.filter(pk=child.pk).school_age_on(on).exists():
        return str(_("The child is not of school age."))
    if child.home_teaching_plans.filter(Q(end_date__isnull=True) | Q(end_date__gte=on)).exists():
        return str(_("The child already has a send-teaching-home plan."))
    return None


class NewPlanForm(PlanForm):
    """The 一人一案 of a child who has none: the plan's school (by default the child's responsible
    school), when it starts, and every field of PlanForm with its rules (two teachers at least, one of
    them a man, all of the plan's school; the load not below the province's)."""

    school = forms.ModelChoiceField(label=_("school"), queryset=School.objects.none(),
                                    help_text=_("By default the child's responsible school; another school is "
                                                "listed as a violation."))
    start_date = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    class Meta(PlanForm.Meta):
        fields = ["school", "start_date", *PlanForm.Meta.fields]

    def __init__(self, *args: Any, schools: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        self.order_fields(["school", "start_date"])
        # the teachers may come from several schools here: say whose each is
        self.fields["teachers"].label_from_instance = (  # type: ignore[attr-defined]
            lambda p: f"{p.name}（{p.get_sex_display()}）· {p.school.name if p.school else ''}")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start = data.get("start_date")
        if start and not date(2000, 1, 1) <= start <= date(2100, 12, 31):
            self.add_error("start_date", _("Give a date between 2000 and 2100."))
        school = data.get("school")
        strangers = [t.name for t in data.get("teachers") or [] if school is not None and t.school_id != school.pk]
        if strangers:
            self.add_error("teachers", _("Not teachers of the plan's school: %(names)s") % {"names": "、".join(strangers)})
        return data
