"""WSGI entry point: gunicorn 'wsgi:app'."""

from feedsvc.web import create_app

app = create_app()
