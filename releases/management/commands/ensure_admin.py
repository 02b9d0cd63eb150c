import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin account when there is none, and print its password once."

    def handle(self, *args: object, **options: object) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", password=password)
        self.stdout.write(
            self.style.SUCCESS(
                "Created the first admin account.\n"
                f"  user: admin\n  password: {password}\n"
                "This password is shown once: sign in and change it "
                "(Admin > Users), then add people to the Maintainers, "
                "Reviewers and Auditors groups."
            )
        )
