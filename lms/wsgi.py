"""The WSGI application (gunicorn ``lms.wsgi``), loaded whole and then frozen for the GC.

Django loads the URL configuration, and with it every view module, on the first request,
and builds the table that ``reverse()`` reads on the first request that makes a URL, once
per language; a progress event does (the evidence links to its module's page). Here both
happen at startup, so no client's request waits for them. Then ``gc.freeze()`` moves every
object loaded so far (Django, Wagtail, allauth and our modules) out of the garbage
collector's sight, so that a full collection does not walk them all inside some unlucky
request. With ``--preload`` the master freezes before it forks, so the workers also keep
sharing those pages instead of copying them when the collector touches them (what the Python
documentation of ``gc.freeze`` recommends for a forking server). See
docs/decisions/0019-the-progress-path.md; the figures are in docs/performance.md.
"""

import gc
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
from django.utils import translation

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")

application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - imports every URL module and view now
for language, _name in settings.LANGUAGES:
    with translation.override(language):
        get_resolver().reverse_dict  # noqa: B018 - builds reverse()'s table in this language
gc.collect()  # what is garbage already is not kept for ever
gc.freeze()
