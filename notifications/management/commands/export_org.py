import json
import os
import sys
import tempfile

from django.core.management.base import BaseCommand, CommandError

from hierarchy.models import Organization
from okrplan.lib.tenancy import system_scope
from okrplan.orgdata import OrgDataError, org_export


class Command(BaseCommand):
    help = (
        "Export every row of one organization (and the users it names, by username) as "
        "JSON, for import_org. Plain text: keep the file as safe as the database."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="organization slug")
        parser.add_argument("--output", metavar="FILE", help="write here (default: stdout)")

    @system_scope()  # an operator's command: any organization (okrplan/lib/tenancy.py)
    def handle(self, *args, slug: str, output: str | None, **options):
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organization has the slug {slug!r}.")
        try:
            document = org_export(org=org)
        except OrgDataError as error:
            raise CommandError(str(error)) from None
        text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
        if output is None:
            sys.stdout.write(text)
            return
        # Written beside the target and renamed: a crash never leaves half a file.
        folder = os.path.dirname(os.path.abspath(output))
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=".export-", delete=False
        ) as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(file.name, output)
        rows = sum(len(rows) for rows in document["rows"].values())
        self.stderr.write(
            self.style.SUCCESS(
                f"exported {slug}: {rows} rows, {len(document['users'])} users → {output}"
            )
        )
