from django.core.management.base import BaseCommand

from website.demo.load import DEMO_USERS, demo_load, demo_password


class Command(BaseCommand):
    help = "Load or refresh the demo province (Khánh Hòa, 2021). Safe to run again."

    def handle(self, *args, **options):
        password = demo_password()
        for line in demo_load(password=password):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo province ready."))
        self.stdout.write(f"Log in at /admin/ as any of: {', '.join(u.username for u in DEMO_USERS)}")
        self.stdout.write(f"Password: {password}")
