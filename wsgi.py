"""WSGI entry point: gunicorn 'wsgi:app'."""

from feedsvc import create_app

app = create_app()
