"""The WSGI entry point that gunicorn serves."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cis.config.settings.base")
application = get_wsgi_application()
