from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    name = "hierarchy"
    verbose_name = "Organizations and key results"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from hierarchy.timezones import on_login

        # the person's time zone into the session they log in to (hierarchy/timezones.py)
        user_logged_in.connect(on_login, dispatch_uid="hierarchy.timezones.on_login")
