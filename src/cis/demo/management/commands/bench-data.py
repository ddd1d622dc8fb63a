"""`cis bench-data`: fill an empty directory with a national-shaped one, for the benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cis.core.errors import DomainError
from cis.demo.national import SIZES, bench_data


class Command(BaseCommand):
    help = (
        "Fill an empty database with a national-shaped directory (organisations, people, "
        "positions, rights, cards, certificates, a year of requests and audit events). "
        f"Sizes: {', '.join(f'{name} ({people:,} people)' for name, people in SIZES.items())}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=sorted(SIZES), default="ci", help="how many people")
        parser.add_argument("--people", type=int, help="any other number of people")
        parser.add_argument("--seed", type=int, default=16, help="the same seed, the same data")

    def handle(self, *args: Any, **options: Any) -> None:
        people = options["people"] or SIZES[options["size"]]
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Making a directory of {people:,} people ...")
        try:
            counts = bench_data(people=people, seed=options["seed"], log=self.stdout.write)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Loaded {counts.line()}.")
