"""The `cis` command: every Django management command, plus serve and demo."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and args[1] == "demo":
        # The demo always runs with the demo settings: persona sign-in, mail written to files.
        os.environ["DJANGO_SETTINGS_MODULE"] = "cis.config.settings.demo"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cis.config.settings.base")
    from django.core.management import execute_from_command_line  # noqa: PLC0415

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
