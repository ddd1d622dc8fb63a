"""Settings for `make bench`: the product's own, plus a route to the trivial baseline view."""

from __future__ import annotations

from cis.config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["*"]
DEBUG = False
