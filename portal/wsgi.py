import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# What loading the app made lives as long as the process: frozen, the collector's full passes
# skip it. Without this, one request in ten or twenty paid a 100 ms full collection walking it
# (bench/page_times.py: the staff usage summary's p95 137 ms, p50 27 ms; frozen 43 / 25).
gc.freeze()
