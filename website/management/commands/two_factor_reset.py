from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from website.two_factor import devices_reset


class Command(BaseCommand):
    help = (
        "Remove a user's two-step sign-in devices (a lost or replaced phone), at a province admin's "
        "request; the user enrols a new authenticator at the next login. Also clears a login lockout "
        "of that username (django-axes)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        from axes.utils import reset

        username = options["username"]
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No user named {username!r}.") from error
        removed = devices_reset(user)
        reset(username=username)
        self.stdout.write(f"{username}: {removed} two-factor device(s) removed; login lockout cleared.")
