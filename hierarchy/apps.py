from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    name = "hierarchy"
    verbose_name = "Organizations and key results"

    def ready(self):
        # The top bar's organization switcher: the caller's organizations, read at login
        # into their session (hierarchy/switcher.py).
        from django.contrib.auth.signals import user_logged_in

        from hierarchy.switcher import on_login

        user_logged_in.connect(on_login, dispatch_uid="okrplan_org_switch")
