"""Settings for `make bench`: the product's own, plus a route to the trivial baseline view."""

from __future__ import annotations

from cis.config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["*"]
DEBUG = False

# The benchmarks measure the sign-in itself, from one address with a few hundred cards.
CIS_SIGNIN_CHALLENGES_PER_MINUTE = 10**9
CIS_SIGNIN_ANSWERS_PER_CARD_PER_MINUTE = 10**9
