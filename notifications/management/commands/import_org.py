from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from okrplan.lib.tenancy import system_scope
from okrplan.orgdata import OrgDataError, org_import_file


class Command(BaseCommand):
    help = (
        "Recreate an organization from an export_org file, all or nothing. Users are "
        "matched by username; missing ones are created without a password (they reset it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a file written by export_org")
        parser.add_argument("--slug", help="import under this slug (default: the exported one)")

    @system_scope()  # an operator's command: any organization (okrplan/lib/tenancy.py)
    def handle(self, *args, file: str, slug: str | None, **options):
        try:
            report = org_import_file(file, slug=slug)
        except (OrgDataError, DatabaseError) as error:
            raise CommandError(f"Nothing was imported: {error}") from None
        rows = sum(report.rows.values())
        self.stdout.write(self.style.SUCCESS(f"imported {report.org.slug}: {rows} rows"))
        if report.users_found:
            self.stdout.write(f"existing users, now members: {', '.join(report.users_found)}")
        if report.users_created:
            self.stdout.write(
                f"users created without a password: {', '.join(report.users_created)}"
            )
