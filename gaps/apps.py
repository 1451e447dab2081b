from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GapsConfig(AppConfig):
    name = "gaps"
    verbose_name = _("Coverage gaps")

    def ready(self) -> None:
        from gaps import checks  # noqa: F401  (registers the settings check)
