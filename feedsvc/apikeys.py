"""API keys: made by an admin, shown once, stored only as a hash, scoped, revocable.

A key is 32 random bytes, so a fast hash (SHA-256) is as safe as a slow one and lets every request find its key
by an indexed lookup; a password needs a slow hash only because people choose guessable ones.
"""

import hashlib
import secrets

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.states import ApiScope

# Every key starts so, which tells a reader (and a secret scanner) what it is.
KEY_PREFIX = "fsk_"
NAME_MAX = 100
# What each scope also allows.
GRANTS = {ApiScope.TRANSLATE: {ApiScope.TRANSLATE}, ApiScope.READ: {ApiScope.READ},
          ApiScope.WRITE: {ApiScope.READ, ApiScope.WRITE}}


class ApiKeyNotFound(NotFound):
    """No API key with that id."""

    def __init__(self, key_id: int):
        """Keep the id; the message names it."""
        self.key_id = key_id
        super().__init__(f"no API key {key_id}")


def key_hash(secret: str) -> str:
    """What is stored of a key."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create(db: Database, name: str, scope: str) -> tuple[dict, str]:
    """Make a key for ``scope`` named ``name``; returns its row and the secret (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"a key needs a name of 1 to {NAME_MAX} characters")
    try:
        scope = ApiScope(scope)
    except ValueError as exc:
        raise InvalidInput(f"scope must be one of {', '.join(ApiScope)}") from exc
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row: dict = {"name": name, "scope": scope, "prefix": secret[:len(KEY_PREFIX) + 6], "key_hash": key_hash(secret),
           "created_at": clock.utcnow()}
    row["id"] = int(db.table("api_keys").insert(row).last_pk or 0)
    return row, secret


def find(db: Database, secret: str | None) -> dict | None:
    """The key row of ``secret`` if it is a key that is not revoked, else None; notes its use."""
    if not secret or not secret.startswith(KEY_PREFIX):
        return None
    rows = list(db.query("select * from api_keys where key_hash = ? and revoked_at is null", [key_hash(secret)]))
    if not rows:
        return None
    used = clock.utcnow()
    if (rows[0]["last_used_at"] or "")[:16] != used[:16]:  # at most one write a minute per key
        db.execute("update api_keys set last_used_at = ? where id = ?", [used, rows[0]["id"]])
    return rows[0]


def allows(key: dict, scope: ApiScope) -> bool:
    """Whether a key's scope includes ``scope`` (write includes read)."""
    return scope in GRANTS[ApiScope(key["scope"])]


def verify(db: Database, secret: str | None, scope: ApiScope) -> dict | None:
    """The key row if ``secret`` is a current key that allows ``scope``, else None."""
    key = find(db, secret)
    return key if key is not None and allows(key, scope) else None


def revoke(db: Database, key_id: int) -> dict:
    """Revoke a key at once (its row stays, to show who had which key); returns the row."""
    rows = list(db.query("select * from api_keys where id = ?", [key_id]))
    if not rows:
        raise ApiKeyNotFound(key_id)
    if rows[0]["revoked_at"] is None:
        db.execute("update api_keys set revoked_at = ? where id = ?", [clock.utcnow(), key_id])
    return rows[0]


def list_keys(db: Database) -> list[dict]:
    """Every key, newest first, without hashes."""
    return list(db.query("select id, name, scope, prefix, created_at, last_used_at, revoked_at from api_keys "
                         "order by id desc"))
