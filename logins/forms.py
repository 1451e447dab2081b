from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.translation import gettext_lazy as _

from gridmap.forms import GroupedPicker
from gridmap.models import Area, AreaLevel, School, UserRole


def _areas() -> Any:
    return (Area.objects.filter(code__startswith=settings.GRIDMAP_COUNTY_CODE,
                                level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE]).order_by("code"))


def _grouped_areas() -> list[tuple[str, list[tuple[int, str]]]]:
    """Each township, then its villages, under the township's name."""
    whole = _("the whole township")
    groups: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    for pk, code, name, level in _areas().values_list("pk", "code", "name", "level"):
        township = groups.setdefault(code[:9], ("", []))
        if level == AreaLevel.TOWNSHIP:
            groups[code[:9]] = (name, [(pk, f"{name}（{whole}）"), *township[1]])
        else:
            township[1].append((pk, name))
    return [(label, options) for label, options in groups.values()]


def _grouped_schools() -> list[tuple[str, list[tuple[int, str]]]]:
    groups: dict[str, list[tuple[int, str]]] = {}
    for pk, name, township in (School.objects.filter(township__code__startswith=settings.GRIDMAP_COUNTY_CODE)
                               .order_by("township__code", "kind", "name").values_list("pk", "name", "township__name")):
        groups.setdefault(township, []).append((pk, name))
    return list(groups.items())


class ScopeForm(forms.Form):
    name = forms.CharField(label=_("full name"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("role"), choices=UserRole.choices)
    areas = forms.ModelMultipleChoiceField(Area.objects.none(), label=_("areas (township officials: townships; "
                                                                        "village cadres: villages)"),
                                           required=False, widget=GroupedPicker)
    schools = forms.ModelMultipleChoiceField(School.objects.none(), label=_("schools (school staff)"),
                                             required=False, widget=GroupedPicker)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas: Any = self.fields["areas"]
        areas.queryset = _areas()
        areas.widget.choices = _grouped_areas()
        schools: Any = self.fields["schools"]
        schools.queryset = School.objects.filter(township__code__startswith=settings.GRIDMAP_COUNTY_CODE)
        schools.widget.choices = _grouped_schools()


class NewLoginForm(ScopeForm):
    username = forms.CharField(label=_("login name"), max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text=_("letters, digits and @ . + - _ only"))
    password = forms.CharField(label=_("password"), required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=_("leave empty to generate one; it is shown once"))

    field_order = ["username", "name", "role", "areas", "schools", "password"]


class LoginFilterForm(forms.Form):
    q = forms.CharField(label=_("login name or full name"), max_length=50, required=False)
    role = forms.ChoiceField(label=_("role"), choices=[("", "—"), *UserRole.choices], required=False)
    active = forms.ChoiceField(label=_("state"), required=False,
                               choices=[("", "—"), ("1", _("in use")), ("0", _("disabled"))])

    def clean_q(self) -> str:
        q: str = self.cleaned_data["q"]
        if "\x00" in q:
            raise forms.ValidationError(_("The search contains a character that is not allowed."))
        return q.strip()
