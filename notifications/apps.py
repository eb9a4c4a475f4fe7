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
