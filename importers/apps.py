from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportersConfig(AppConfig):
    name = "importers"
    verbose_name = _("Importers")

    def ready(self) -> None:
        from gridmap import cleanup
        from importers import uploads

        cleanup.register("expired uploads deleted", uploads.purge_expired)
