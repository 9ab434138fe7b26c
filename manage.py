#!/usr/bin/env python
"""Django's command-line utility, with one-line messages for unreachable data stores."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from config.preflight import exit_on_unreachable_store

    with exit_on_unreachable_store():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
