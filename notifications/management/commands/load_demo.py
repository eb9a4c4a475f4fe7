from django.core.management.base import BaseCommand

from okrplan.demo import demo_load, demo_logins
from okrplan.lib.tenancy import system_scope


class Command(BaseCommand):
    help = "Load the demo organization `acme` (idempotent) and print its logins."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    @system_scope()  # an operator's command: any organization (okrplan/lib/tenancy.py)
    def handle(self, *args, url, **options):
        org = demo_load()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"okrplan: {url}  (organization: {org.slug})"))
        self.stdout.write(f"API docs: {url}api/docs/")
        self.stdout.write("Demo logins (username / password):")
        for username, password, what in demo_logins():
            self.stdout.write(f"  {username:<8} / {password}   {what}")
        self.stdout.write("")
