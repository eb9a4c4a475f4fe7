from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    name = "hierarchy"
    verbose_name = "Organizations and key results"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from hierarchy import switcher, timezones

        # At login, into the session: the person's time zone (hierarchy/timezones.py) and
        # the top bar's organization switcher, their organizations (hierarchy/switcher.py).
        user_logged_in.connect(timezones.on_login, dispatch_uid="hierarchy.timezones.on_login")
        user_logged_in.connect(switcher.on_login, dispatch_uid="okrplan_org_switch")
