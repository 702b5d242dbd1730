"""The WSGI application (gunicorn ``lms.wsgi``), loaded whole and then frozen for the GC.

Django loads the URL configuration, and with it every view module, on the first request,
and builds the table that ``reverse()`` reads (about 100 ms with Wagtail's URLs) on the
first request that makes a URL, once per language; a progress event does (the evidence
links to its module's page). Here both happen at startup, so no client's request waits for
them (docs/decisions/0013). Then ``gc.freeze()`` moves every object loaded so far
(about 280,000: Django, Wagtail, allauth and our modules) out of the garbage collector's
sight. Without it each full collection walks them all: about 180 ms, several times in
a batch of 1,000 progress events, and a pause that lands in some unlucky request's latency
(docs/decisions/0012). With ``--preload`` the master freezes before it forks, so the
workers also keep sharing those pages instead of copying them when the collector touches
them (what the Python documentation of ``gc.freeze`` recommends for a forking server).
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
