from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (simulated GitHub and registry)"

    def ready(self) -> None:
        from sandbox.seed import seed_if_empty

        post_migrate.connect(seed_if_empty, sender=self)
