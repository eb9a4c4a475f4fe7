import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrplan.settings")

app = Celery("okrplan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.beat_init.connect
def _schedule_folder(sender, **kwargs):
    """Beat's schedule file's folder (var/), made by the process that writes it."""
    from pathlib import Path

    Path(sender.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
