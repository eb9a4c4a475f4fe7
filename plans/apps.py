from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Plans"

    def ready(self):
        """The plans app's subscriptions to the hierarchy's events, all in one place."""
        from django.db.backends.signals import connection_created

        from hierarchy.events import (
            FunnelReordered,
            KeyResultCreated,
            KeyResultDeleted,
            KeyResultMoved,
            KeyResultWriting,
        )
        from okrplan.lib.erasing import sqlite_function_install
        from okrplan.lib.events import subscribe
        from plans import services

        subscribe(KeyResultCreated, services.on_kr_created)
        subscribe(KeyResultWriting, services.on_kr_writing)
        subscribe(KeyResultMoved, services.on_kr_moved)
        subscribe(KeyResultDeleted, services.on_kr_deleted)
        subscribe(FunnelReordered, services.on_funnel_reordered)
        # The SQLite guard on plan revisions and round events asks this function
        # (okrplan/lib/erasing.py).
        connection_created.connect(sqlite_function_install, dispatch_uid="okrplan_erasing")
