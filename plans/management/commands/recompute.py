from django.core.management.base import BaseCommand, CommandError

from hierarchy.models import Organization
from okrplan.lib.tenancy import system_scope
from plans.recompute import recompute_organization


def _numbers(values) -> str:
    return "[" + ", ".join(format(value, "f") for value in values) + "]"


class Command(BaseCommand):
    help = (
        "Recompute every key result's effective plan of an organization from scratch and "
        "store the ones that differ; with --verify, only compare (exit status 1 on a mismatch)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
        parser.add_argument(
            "--verify",
            action="store_true",
            help="write nothing: list the stored aggregates that differ from a recomputation",
        )

    @system_scope()  # an operator's command: any organization (okrplan/lib/tenancy.py)
    def handle(self, *args, org: str, verify: bool, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization has the slug {org!r}.")
        report = recompute_organization(org=organization, write=not verify)
        if not verify:
            self.stdout.write(
                self.style.SUCCESS(
                    f"recomputed {report.krs} key results of {org}: "
                    f"{len(report.mismatches)} changed"
                )
            )
            return
        for mismatch in report.mismatches:
            self.stdout.write(
                f"KR {mismatch.kr_id} {mismatch.title!r}: stored {_numbers(mismatch.stored)}, "
                f"expected {_numbers(mismatch.expected)}"
            )
        if report.mismatches:
            raise CommandError(
                f"{len(report.mismatches)} of {report.krs} key results of {org}: stored "
                "aggregates differ from a full recomputation (run without --verify to repair)"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"ok: {report.krs} key results, stored aggregates equal a full recomputation"
            )
        )
