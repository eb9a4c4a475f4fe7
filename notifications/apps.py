from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and protocol"

    def ready(self):
        """The notifications app's subscriptions to the plans' and the hierarchy's events, in
        one place."""
        from hierarchy.events import (
            InvitationClosed,
            InvitationCreated,
            KeyResultsArchived,
            KeyResultsArchiving,
            MemberDutiesAsked,
        )
        from notifications import services
        from okrplan.lib.events import subscribe
        from plans.events import CheckInRecorded, PlanChanged

        subscribe(PlanChanged, services.on_plan_changed)
        subscribe(CheckInRecorded, services.on_checkin_recorded)
        subscribe(InvitationCreated, services.on_invitation_created)
        subscribe(InvitationClosed, services.on_invitation_closed)
        subscribe(MemberDutiesAsked, services.on_member_duties_asked)
        subscribe(KeyResultsArchiving, services.on_krs_archiving)
        subscribe(KeyResultsArchived, services.on_krs_archived)

        # Every tenant model is carried by export_org / import_org (okrplan.E001).
        from django.core import checks

        from okrplan.orgdata import coverage_check, policy_check

        checks.register(coverage_check, checks.Tags.models)

        # Every tenant table has row-level security, and the app runs as a role that it
        # holds for (okrplan/lib/tenancy.py, okrplan.E002).
        from django.db.backends.signals import connection_created

        from okrplan.lib.tenancy import role_set

        checks.register(policy_check, checks.Tags.database)
        connection_created.connect(role_set, dispatch_uid="okrplan_app_role")
