"""Admin users: storage with werkzeug password hashes and the Flask-Login glue (the CLI: commands.users)."""

import functools
import secrets

from flask_login import UserMixin
from sqlite_utils import Database
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from feedsvc import clock
from feedsvc.errors import Conflict
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound

MIN_PASSWORD = 8


class UserExists(Conflict):
    """That user name is taken."""

    def __init__(self, username: str):
        """The name asked for."""
        self.username = username
        super().__init__(f"user {username} already exists")


class UnknownUser(NotFound):
    """No admin with that user name."""

    def __init__(self, username: str):
        """The name asked for."""
        self.username = username
        super().__init__(f"no user {username}")


class BadUserName(InvalidInput):
    """A user name that cannot be used (empty once trimmed)."""

    def __init__(self, username: str):
        """The name given."""
        self.username = username
        super().__init__("the user name is empty")


class WeakPassword(InvalidInput):
    """The password is too short."""

    def __init__(self, length: int):
        """How long the refused password was (never the password itself)."""
        self.length = length
        super().__init__(f"the password needs at least {MIN_PASSWORD} characters")


class User(UserMixin):
    """The logged-in admin as Flask-Login sees it.

    The session stores "id:token": rotating the token (logout, password change) ends every
    session of that user, even a cookie copied before — Flask's sessions are client-side.
    """

    def __init__(self, row: dict):
        """Wrap a users row."""
        self.id = f"{row['id']}:{row['session_token']}"
        self.user_id = row["id"]
        self.username = row["username"]
        self.ui_lang = row.get("ui_lang") or ""


def create_user(db: Database, username: str, password: str) -> int:
    """Add an admin; refuses taken names and passwords shorter than 8 characters."""
    username = username.strip()
    if not username:
        raise BadUserName(username)
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(len(password))
    if find_user(db, username):
        raise UserExists(username)
    row = {"username": username, "password_hash": generate_password_hash(password), "created_at": clock.utcnow(),
           "session_token": secrets.token_urlsafe(24)}
    return db.table("users").insert(row).last_pk


def set_password(db: Database, username: str, password: str) -> None:
    """Replace an admin's password."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(len(password))
    user = find_user(db, username)
    if user is None:
        raise UnknownUser(username)
    db.table("users").update(user["id"], {"password_hash": generate_password_hash(password),
                                           "session_token": secrets.token_urlsafe(24)})


def find_user(db: Database, username: str) -> dict | None:
    """The user row with that name, or None."""
    rows = list(db.query("select * from users where username = ?", [username.strip()]))
    return rows[0] if rows else None


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password matches, else None.

    An unknown name costs a hash check too (against a throwaway hash), so the time a wrong login takes
    does not tell which user names exist.
    """
    row = find_user(db, username)
    matches = check_password_hash(row["password_hash"] if row else unknown_user_hash(), password)
    return User(row) if row and matches else None


@functools.cache
def unknown_user_hash() -> str:
    """A hash of a random password, made once per process, checked when the user name is unknown."""
    return generate_password_hash(secrets.token_urlsafe(16))


def load_user(db: Database, session_id: str) -> User | None:
    """The user a session's "id:token" names, if the token is still current."""
    user_id, _, token = session_id.partition(":")
    rows = list(db.query("select * from users where id = ? and session_token = ?", [user_id, token]))
    return User(rows[0]) if rows and token else None


def set_language(db: Database, user_id: int, lang: str) -> None:
    """Remember the admin interface language a user chose (the caller checks it is a published one)."""
    db.table("users").update(user_id, {"ui_lang": lang})


def end_sessions(db: Database, user_id: int) -> None:
    """Rotate the user's session token: every existing session of theirs stops working."""
    db.table("users").update(user_id, {"session_token": secrets.token_urlsafe(24)})
