from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReleasesConfig(AppConfig):
    name = "releases"
    verbose_name = "Releases"

    def ready(self) -> None:
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from releases import (
            approvals,  # noqa: F401  (connects its signal)
            audit,
        )
        from releases.roles import ensure_groups
        from releases.tasks import ensure_schedules

        post_migrate.connect(ensure_groups, sender=self)
        post_migrate.connect(ensure_schedules, sender=self)
        user_logged_in.connect(audit.record_sign_in, dispatch_uid="audit-sign-in")
        user_logged_out.connect(audit.record_sign_out, dispatch_uid="audit-sign-out")
        user_login_failed.connect(
            audit.record_sign_in_failure, dispatch_uid="audit-sign-in-failed"
        )
