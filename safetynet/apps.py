from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SafetyNetConfig(AppConfig):
    name = "safetynet"
    verbose_name = _("Safety net for key groups")

    def ready(self) -> None:
        from safetynet import access_rules, checks  # noqa: F401  (write rules and system checks)
