"""The `feedsvc` command: Flask's CLI around create_app (run, worker, users, models, demo, …)."""

from flask.cli import FlaskGroup

from feedsvc import create_app

cli = FlaskGroup(create_app=create_app, help="feedsvc: press releases in Russian, Kazakh and English.")

if __name__ == "__main__":
    cli()
