from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Travel times")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from routing import checks  # noqa: F401  (registers the settings checks)
