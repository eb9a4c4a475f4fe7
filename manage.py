#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrplan.settings")
    # Commands typed in a checkout (check, makemigrations, shell) work without a
    # secret; the web app (wsgi) and the workers keep production safety as their
    # default, and deployments run commands with DEBUG=0 set (docker-compose.yml).
    os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
