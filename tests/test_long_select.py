"""LongSelect (gridmap.forms) writes the same <select> as Django's forms.Select, by Python instead of a
template per option: compared element by element (django.test.html) on people and schools of the demo,
with a value chosen or not, optgroups, and names that need escaping."""

import pytest
from django import forms
from django.test.html import parse_html

from gridmap.forms import LongSelect
from gridmap.models import Person, School


def both(field_factory, value, attrs):
    slow, fast = field_factory(forms.Select), field_factory(LongSelect)
    return (parse_html(slow.widget.render("person", value, attrs)),
            parse_html(fast.widget.render("person", value, attrs)))


@pytest.mark.django_db
def test_the_same_html_as_djangos_select():
    people = Person.objects.order_by("pk")[:300]
    some = people[17]
    for required in (True, False):
        def field(widget, required=required):
            return forms.ModelChoiceField(people, required=required, widget=widget)
        for value in (None, some.pk, str(some.pk), ""):
            slow, fast = both(field, value, {"id": "id_person", "class": "form-select", "required": required,
                                             "aria-label": "负责人"})
            assert slow == fast, (required, value)
    schools = School.objects.order_by("code")[:50]
    slow, fast = both(lambda w: forms.ModelChoiceField(schools, widget=w), schools[3].pk, {"id": "x"})
    assert slow == fast
    tricky = [("", "—"), ("a&b", 'x<y> "quoted" & more'), ("组", [("1", "第一组"), ("2", "第<二>组")])]
    slow, fast = both(lambda w: forms.ChoiceField(choices=tricky, widget=w), "2", {"id": "t"})
    assert slow == fast
