from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeTeachingConfig(AppConfig):
    name = "hometeaching"
    verbose_name = _("Send-teaching-home")

    def ready(self) -> None:
        from hometeaching import checks  # noqa: F401  (registers the settings checks)
