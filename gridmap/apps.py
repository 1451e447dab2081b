from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridmapConfig(AppConfig):
    name = "gridmap"
    verbose_name = _("Grid management")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from gridmap import audit, checks  # noqa: F401  (registers the checks and the login signals)
