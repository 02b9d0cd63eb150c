from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        from releases import approvals  # noqa: F401  (connects its signal)
        from releases.roles import ensure_groups
        from releases.tasks import ensure_schedules

        post_migrate.connect(ensure_groups, sender=self)
        post_migrate.connect(ensure_schedules, sender=self)
