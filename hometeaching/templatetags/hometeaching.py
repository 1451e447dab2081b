"""{% load hometeaching %}{% new_plan_link child %}: on the child's page (templates/gridmap/child.html),
a link to create the child's send-teaching-home plan when the child is eligible (disabled, school age,
no plan) and the login may create it (hometeaching.scope) — so that gridmap's views import nothing
of this package."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from gridmap.models import Child

register = template.Library()


@register.inclusion_tag("hometeaching/new_plan_link.html", takes_context=True)
def new_plan_link(context: dict[str, Any], child: Child) -> dict[str, Any]:
    from hometeaching import rules, scope
    from hometeaching.forms import ineligible

    request = context.get("request")
    user = getattr(request, "user", None)
    today = timezone.localdate()
    show = False
    if user is not None and child.kg_disabled and ineligible(child, today) is None:
        responsible = rules.responsible_schools(Child.objects.filter(pk=child.pk), today).get(child.pk)
        show = scope.may_create_plan(user, child, responsible)
    return {"child": child, "show": show}
