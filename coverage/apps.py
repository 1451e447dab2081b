from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoverageConfig(AppConfig):
    name = "coverage"
    verbose_name = _("Coverage gaps")

    def ready(self) -> None:
        from coverage import checks  # noqa: F401  (registers the settings check)
