from django.core.management.base import BaseCommand, CommandError

from hierarchy.models import Organization
from okrplan.lib.tenancy import system_scope
from okrplan.orgdata import org_erase


class Command(BaseCommand):
    help = (
        "Delete an organization and every row of it, plan revisions and round events "
        "included; its users stay. Irreversible: run export_org first."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="organization slug")
        parser.add_argument(
            "--confirm", metavar="SLUG", help="the slug again, to erase without a question"
        )

    @system_scope()  # an operator's command: any organization (okrplan/lib/tenancy.py)
    def handle(self, *args, slug: str, confirm: str | None, **options):
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organization has the slug {slug!r}.")
        if confirm is None and options.get("interactive", True):
            confirm = input(f"Erase {org.name} ({slug}) and all its data? Type its slug: ")
        if confirm != slug:
            raise CommandError("Not confirmed: nothing was erased.")
        deleted = org_erase(org=org)
        self.stdout.write(self.style.SUCCESS(f"erased {slug}: {sum(deleted.values())} rows"))
