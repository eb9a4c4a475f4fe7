from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and protocol"

    def ready(self):
        """The notifications app's subscriptions to the plans app's events, in one place."""
        from notifications import services
        from okrplan.lib.events import subscribe
        from plans.events import CheckInRecorded, PlanChanged

        subscribe(PlanChanged, services.on_plan_changed)
        subscribe(CheckInRecorded, services.on_checkin_recorded)

        # Every tenant model is carried by export_org / import_org (okrplan.E001).
        from django.core import checks

        from okrplan.orgdata import coverage_check

        checks.register(coverage_check, checks.Tags.models)
