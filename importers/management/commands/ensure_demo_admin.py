"""Make sure the demo can be logged into: without any superuser, create `admin` with a random
password, print it once and keep it in var/demo-admin-password (git-ignored, mode 0600)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo administrator if no superuser exists, and say how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        path = settings.VAR_DIR / "demo-admin-password"
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            hint = f" (password in {path})" if path.exists() else ""
            self.stdout.write(f"Log in with your superuser{hint}.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", "", password)
        settings.VAR_DIR.mkdir(exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(
            f"Created superuser 'admin' with password {password} (kept in {path})."))
