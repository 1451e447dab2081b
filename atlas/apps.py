from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AtlasConfig(AppConfig):
    name = "atlas"
    verbose_name = _("Printed atlas")

    def ready(self) -> None:
        from atlas import jobs
        from gridmap import cleanup

        cleanup.register("dead atlas jobs failed", jobs.reap)
        cleanup.register("printed atlases deleted", jobs.purge_old)
