from django.apps import AppConfig


class HierarchyConfig(AppConfig):
    name = "hierarchy"
    verbose_name = "Organizations and key results"

    def ready(self):
        from okrplan.lib import strict

        strict.install()  # every API input: no unknown fields, plain numbers
