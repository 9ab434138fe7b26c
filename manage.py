#!/usr/bin/env python
"""Django's command-line utility, with one-line messages for unreachable data stores."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if not os.environ.get("SECRET_KEY"):
        # Commands beside `make run` (migrate, superuser, demo) use the key it made, if it made one.
        from config.embedded import data_dir

        key_file = data_dir() / "secret_key"
        if key_file.exists():
            os.environ["SECRET_KEY"] = key_file.read_text().strip()
    from django.core.management import execute_from_command_line

    from core.preflight import exit_on_unreachable_store

    with exit_on_unreachable_store():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
