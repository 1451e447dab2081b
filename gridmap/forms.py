from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gridmap import access
from gridmap.audit import client_ip, record, too_many_failures
from gridmap.models import KEY_GROUPS, AuditAction, ChildStatus, Person, School, Sex, Stage
from gridmap.responsibilities import stages_of


def normalise_username(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip()


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Refuses to even try a password after too many recent failures for the name or address."""

    def clean(self) -> dict[str, Any]:
        # The name as authentication will see it (stripped, NFKC: " name", "name " and full-width
        # ｎａｍｅ are all "name"), so that no spelling escapes the per-name limit.
        username = normalise_username(self.cleaned_data.get("username") or self.data.get("username", ""))
        self.cleaned_data["username"] = username
        if too_many_failures(username, client_ip(self.request)):
            record(self.request, AuditAction.DENIED, summary=f"登录过于频繁：{username}"[:300])
            raise ValidationError(_("Too many failed logins. Try again in 15 minutes."), code="rate_limited")
        return super().clean()


# --- handing over responsibilities from the cell card (gridmap.responsibilities does the work) ---

PHONE = RegexValidator(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$",
                       _("Enter an 11-digit mobile number or a landline with area code."))


class LongSelect(forms.Select):
    """A <select> written in Python, not by a template per option: a cell card's hand-over forms list
    ~700 people and schools, and Django's per-option templates were half of the card's server time.
    The same HTML as forms.Select (attributes, selected option, optgroups), escaped the same way."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        from html import escape

        from django.forms.utils import flatatt
        from django.utils.html import conditional_escape, format_html
        from django.utils.safestring import mark_safe

        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = set(self.format_value(value))  # as Select: None chooses the empty option

        def options(choices: Any) -> Any:
            # html.escape is what django.utils.html.escape does (format_html per option took 60 % of the time)
            out = []
            for v, label in choices:
                value = "" if v is None else str(v)
                selected = " selected" if value in chosen else ""
                out.append(f'<option value="{escape(value)}"{selected}>{conditional_escape(label)}</option>')
            return mark_safe("".join(out))  # noqa: S308 - every value and label escaped above

        parts = []
        for v, label in self.choices:
            if isinstance(label, (list, tuple)):
                parts.append(format_html('<optgroup label="{}">{}</optgroup>', v, options(label)))
            else:
                parts.append(options([(v, label)]))
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(str(p) for p in parts)))


def shown_with(form: forms.Form, name: str, choices: list[tuple[Any, str]]) -> forms.Form:
    """A form to be shown, not bound: its model choice field `name` lists `choices` (pk, label) read
    once by the caller instead of iterating its queryset as model objects on every render. Only for
    display: the view that receives the form builds it with the queryset, which validates."""
    field: Any = form.fields[name]
    empty = [("", field.empty_label)] if field.empty_label is not None else []
    field.widget.choices = [*empty, *choices]
    return form


class HandOverForm(forms.Form):
    start_date = forms.DateField(label=_("from"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start_date"].initial = timezone.localdate()


class ResponsibleSchoolForm(HandOverForm):
    school = forms.ModelChoiceField(School.objects.none(), label=_("responsible school"), widget=LongSelect)
    redraw_catchment = forms.BooleanField(
        label=_("also put the village's groups in this school's catchment"), required=False, initial=True)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


class PersonForm(HandOverForm):
    """Pick someone already on record, or enter a new person."""

    person = forms.ModelChoiceField(Person.objects.none(), label=_("person"), required=False, widget=LongSelect)
    new_name = forms.CharField(label=_("or a new person: name"), max_length=50, required=False)
    new_sex = forms.ChoiceField(label=_("sex"), choices=[("", "—"), *Sex.choices], required=False)
    new_phone = forms.CharField(label=_("phone"), max_length=20, required=False, validators=[PHONE])
    new_unit = forms.CharField(label=_("unit"), max_length=100, required=False)

    def __init__(self, *args: Any, people: QuerySet[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("person")) == bool(data.get("new_name")):
            raise ValidationError(_("Choose a person or enter a new one, not both."))
        if data.get("new_name") and not (data.get("new_phone") and data.get("new_sex")):
            raise ValidationError(_("A new person needs a sex and a phone number."))
        return data


class CatchmentForm(forms.Form):
    school = forms.ModelChoiceField(School.objects.none(), label=_("school"), widget=LongSelect)
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        school, stage = data.get("school"), data.get("stage")
        if school is not None and stage and stage not in stages_of(school):
            raise ValidationError(_("%(school)s does not teach this stage.") % {"school": school.name})
        return data


class TeacherForm(HandOverForm):
    person = forms.ModelChoiceField(Person.objects.none(), label=_("responsible teacher"), widget=LongSelect)

    def __init__(self, *args: Any, teachers: QuerySet[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = teachers  # type: ignore[attr-defined]


def sensible_date(value: Any) -> None:
    """A date the ledgers can be read on: from 2000 to a year ahead (0001-01-01 overflowed)."""
    if value is not None and not (date(2000, 1, 1) <= value <= timezone.localdate() + timedelta(days=366)):
        raise ValidationError(_("Enter a date between 2000-01-01 and a year from today."))


class LedgerFilterForm(forms.Form):
    """The ledger's filters; its selects written by LongSelect (Django's per-option templates were a
    sixth of the ledger page's time)."""

    on = forms.DateField(label=_("as of"), required=False, validators=[sensible_date],
                         widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    status = forms.ChoiceField(label=_("status"), required=False, choices=[("", "—"), *ChildStatus.choices],
                               widget=LongSelect)
    key_group = forms.ChoiceField(label=_("key group"), required=False,
                                  choices=[("", "—"), *[(k, v) for k, v in KEY_GROUPS.items()]], widget=LongSelect)
    grade = forms.TypedChoiceField(label=_("grade due"), required=False, coerce=int, empty_value=None,
                                   choices=[("", "—"), *[(g, f"{g}") for g in range(1, 10)]], widget=LongSelect)
    age = forms.TypedChoiceField(label=_("age"), required=False, coerce=int, empty_value=None,
                                 choices=[("", "—"), *[(a, f"{a}") for a in range(5, 17)]], widget=LongSelect)
    school = forms.ChoiceField(label=_("school"), required=False, widget=LongSelect)

    def __init__(self, *args: Any, area: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = access.visible_schools(user).filter(township__code__startswith=area.code[:9]).order_by("name")
        self.fields["school"].choices = [("", "—"), *schools.values_list("code", "name")]  # type: ignore[attr-defined]


# --- casework: absences, status changes, cases (gridmap.ledgers / gridmap.cases do the work) ---

def _date_field(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, required=required, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))


class AbsenceForm(forms.Form):
    date = _date_field(_("school day"))
    excused = forms.BooleanField(label=_("with reason (sick leave, approved leave)"), required=False)
    reason = forms.CharField(label=_("reason / what is known"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("excused") and not data.get("reason", "").strip():
            raise ValidationError(_("An excused absence needs its reason."))
        return data


class StatusForm(forms.Form):
    to = forms.ChoiceField(label=_("new status"))
    date = _date_field(_("date"))
    reason = forms.CharField(label=_("reason"), max_length=300)
    destination = forms.CharField(label=_("transferred to (school or whereabouts)"), max_length=200, required=False)
    until = _date_field(_("suspended until"), required=False)

    def __init__(self, *args: Any, statuses: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to"].choices = [("", "—"), *[(s, ChildStatus(s).label) for s in statuses]]  # type: ignore[attr-defined]
        self.fields["date"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("to") == ChildStatus.TRANSFERRED_OUT and not data.get("destination", "").strip():
            self.add_error("destination", _("A transfer needs the school or place the child went to."))
        if data.get("to") == ChildStatus.SUSPENDED:
            if not data.get("until"):
                self.add_error("until", _("A suspension needs its end date."))
            elif data.get("date") and data["until"] <= data["date"]:
                self.add_error("until", _("The suspension must end after it starts."))
        return data


class GroupedPicker(forms.CheckboxSelectMultiple):
    """Checkboxes grouped under headings (people by unit, villages by township), with a search box
    (static/gridmap/picker.js): a working group is picked from ~150 names, a scope from ~400 areas."""

    template_name = "gridmap/widgets/picker.html"
    open_group = ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["open_group"] = self.open_group
        return context


def grouped_people(people: QuerySet[Person]) -> list[tuple[str, list[tuple[int, str]]]]:
    """(unit, [(pk, "name post")]) in unit order: the people's units as the picker shows them."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for person in people.select_related("school").order_by("unit", "name"):
        unit = person.school.name if person.school else person.unit
        groups.setdefault(unit, []).append((person.pk, f"{person.name}（{person.title}）" if person.title else person.name))
    return sorted(groups.items(), key=lambda item: (not item[0].endswith(("人民政府", "办事处")), item[0]))


class ConfirmDropoutForm(forms.Form):
    date = _date_field(_("confirmed on"))
    reason = forms.CharField(label=_("findings (why the child is out of school)"), max_length=300)
    members = forms.ModelMultipleChoiceField(Person.objects.none(), label=_("working group"), widget=GroupedPicker,
                                             help_text=_("township, village and school members of the case"))
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, people: QuerySet[Person], open_unit: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members: Any = self.fields["members"]
        members.queryset = people
        members.widget.choices = grouped_people(people)  # the queryset still validates what is posted
        members.widget.open_group = open_unit
        self.fields["date"].initial = timezone.localdate()


class CaseStepForm(forms.Form):
    step = forms.TypedChoiceField(label=_("step"), coerce=int)
    date = _date_field(_("date"))
    person = forms.ModelChoiceField(Person.objects.none(), label=_("responsible person"))
    document_number = forms.CharField(label=_("document number"), max_length=50, required=False,
                                      help_text=_("required for the written order and the penalty decision"))
    deadline = _date_field(_("deadline to return (written order)"), required=False)
    notes = forms.CharField(label=_("what was done"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, steps: list[tuple[int, str]], people: QuerySet[Person], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = steps  # type: ignore[attr-defined]
        self.fields["person"].queryset = people  # type: ignore[attr-defined]
        self.fields["date"].initial = timezone.localdate()


class CloseCaseForm(forms.Form):
    date = _date_field(_("back at school on"))
    reason = forms.CharField(label=_("how the child returned"), max_length=300)
    school = forms.ModelChoiceField(School.objects.none(), label=_("school"), required=False)
    measures = forms.CharField(label=_("follow-up measures (一人一案)"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        self.fields["date"].initial = timezone.localdate()


class CaseSchoolForm(forms.Form):
    school = forms.ModelChoiceField(School.objects.none(), label=_("school the child returns to"))
    reason = forms.CharField(label=_("reason for the change"), max_length=300)

    def __init__(self, *args: Any, schools: QuerySet[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]


class MonthForm(forms.Form):
    # Years the ledgers can describe: a month before 2000 or after 2100 is a typing error (and
    # 0001-01 used to overflow the 12-month trend).
    month = forms.CharField(label=_("month"), required=False,
                            widget=forms.DateInput(attrs={"type": "month"}),
                            validators=[RegexValidator(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$",
                                                       _("Enter a month as YYYY-MM (2000-01 to 2100-12)."))])
