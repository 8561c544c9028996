"""The app as production runs it, plus two routes that exist only in bench/serve.py's gunicorn:

- ``/bench/bare``: a bare Flask route answering a pre-read copy of the feed's bytes (file named by
  ``FEEDSVC_BENCH_BARE_FILE``, read once at import) with the feed's MIME type: the floor a cached
  feed is compared with, through the same app, hooks and gunicorn worker;
- ``/bench/modules``: which of the translation stack's modules this worker has imported.

    gunicorn --pythonpath bench 'serve_wsgi:app'
"""

import os
import sys

from flask import Response

from feedsvc.web import create_app

HEAVY = ("argostranslate", "ctranslate2", "torch", "stanza")

app = create_app()
with open(os.environ["FEEDSVC_BENCH_BARE_FILE"], "rb") as source:
    app.extensions["feedsvc"]["bench_bare"] = source.read()


@app.route("/bench/bare")
def bare():
    """The feed's bytes, with nothing computed."""
    return Response(app.extensions["feedsvc"]["bench_bare"], mimetype="application/atom+xml")


@app.route("/bench/modules")
def modules():
    """The heavy modules this worker imported, or "clean"."""
    return ",".join(name for name in HEAVY if name in sys.modules) or "clean"
