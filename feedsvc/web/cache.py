"""The response cache feeds and anonymous index pages share, keyed to the database's change counter.

Rendered bodies live in ``app.extensions["feedsvc"]["cache"]``, each stored with the change counter
(``site_state.version``, bumped by triggers on every write) it was built at, so a request costs one
small query while nothing changed, in every gunicorn worker, whichever process wrote.
"""

import math
import os
import threading
import weakref
from collections.abc import Callable

import cachetools
from flask import Response
from flask import current_app
from flask import request

from feedsvc import clock
from feedsvc import releases
from feedsvc.storage import connect


def current_state() -> dict:
    """The change counter (``version``, ``changed_at``), read on one long-lived connection per process.

    A request that is answered from the cache must not open a database: SQLite parses the whole
    schema (FTS tables, triggers) on a new connection's first statement, which costs more than
    serving the cached body. One row read on a connection kept open takes microseconds; in autocommit
    mode with the rows drained it holds no snapshot, so it sees every process's last commit. A
    connection is never used across a fork (gunicorn --preload) and is closed with its app.
    """
    state = current_app.extensions["feedsvc"]
    with state.setdefault("state_lock", threading.Lock()):
        reader = state.get("state_reader")
        if reader is None or reader[0] != os.getpid():
            reader = state["state_reader"] = (os.getpid(), connect(current_app.config["DATABASE"]))
            weakref.finalize(current_app._get_current_object(), close_in_owner, *reader)
        read_at = clock.now().timestamp()  # before the read: any later change is stamped at or after this
        version, changed_at = reader[1].execute("select version, changed_at from site_state where id = 1").fetchall()[0]
        schedule = releases.schedule(reader[1])
    return {"version": timed_version(version, schedule["next_due"]), "read_at": read_at,
            "changed_at": max(changed_at, schedule["last_due"] or changed_at, key=clock.parse_time)}


def timed_version(version: int, next_due: str | None) -> str:
    """The cache key of what readers see: the change counter, and the next scheduled release's time.

    No write happens when a scheduled release's moment comes, so the counter alone would keep serving pages
    without it; once the moment passes the next one is another (or none), and every cached body is stale.
    """
    return str(version) if next_due is None else f"{version}~{next_due}"


def set_last_modified(response: Response, state: dict) -> None:
    """Last-Modified from the change counter's time, left out while that second may still see changes.

    The header counts whole seconds: a second change within the same second would look unchanged
    to a reader that sends only If-Modified-Since (ETag readers are never fooled). So, as Apache
    does, a state read within the second it changed carries only its ETag.
    """
    moment = clock.parse_time(state["changed_at"])
    if state["read_at"] >= moment.timestamp() + 1:
        response.last_modified = moment


def close_in_owner(pid: int, db) -> None:
    """Close a connection, but only in the process that opened it."""
    if os.getpid() == pid:
        db.close()


def cached(key: tuple, version: str, build: Callable[[], bytes]) -> tuple[str, bytes]:
    """``(version, body)`` for ``key``: the stored body while the change counter is still ``version``,
    else ``build()``'s, stored for the next request. Read the counter before building, so a body is
    never older than the version it is stored under.
    """
    cache: ResponseCache = current_app.extensions["feedsvc"]["cache"]
    key = (*key, request.host_url)  # absolute URLs inside the body name the host (always SITE_URL's when set)
    entry = cache.get(key)
    if entry is not None and entry[0] == version:
        return entry
    entry = (version, build())  # outside the lock: a slow build never holds up cache hits
    if known_host(request.host_url):
        cache.put(key, entry, current_app.config["RESPONSE_CACHE_ENTRIES"], current_app.config["RESPONSE_CACHE_BYTES"])
    return entry


def per_version(name: str, version: str, compute: Callable[[], int]) -> int:
    """A small value derived from the data (a count, a highest number), computed once per change counter."""
    state = current_app.extensions["feedsvc"]
    known = state.get(name)
    if known is None or known[0] != version:
        known = state[name] = (version, compute())
    return known[1]


def known_host(host_url: str) -> bool:
    """Whether responses for this host may be cached: with SITE_URL there is one host; without it (development)
    the first RESPONSE_CACHE_HOSTS hosts a process sees, so forged Host headers cannot evict the real ones."""
    if current_app.config["SITE_URL"]:
        return True
    state = current_app.extensions["feedsvc"]
    with state.setdefault("state_lock", threading.Lock()):
        hosts = state.setdefault("cache_hosts", set())
        if host_url not in hosts and len(hosts) < current_app.config["RESPONSE_CACHE_HOSTS"]:
            hosts.add(host_url)
        return host_url in hosts


class ResponseCache:
    """Rendered bodies by key, each with the change counter it was built at, least recently used out first.

    Bounded in entries and in bytes (without SITE_URL the key holds the request's host, which the client chooses); the
    newest entry stays even when it alone is over the byte bound. cachetools keeps the LRU order.
    """

    def __init__(self):
        """An empty cache; the bounds come with each ``put`` (they are settings)."""
        self.entries: cachetools.LRUCache = cachetools.LRUCache(maxsize=math.inf)
        self.bytes = 0
        self.lock = threading.Lock()

    def __len__(self) -> int:
        """How many entries it holds."""
        return len(self.entries)

    def __contains__(self, key) -> bool:
        """Whether ``key`` has an entry (without making it recently used)."""
        return key in self.entries

    def get(self, key) -> tuple[str, bytes] | None:
        """The entry for ``key``, now the most recently used, or None."""
        with self.lock:
            return self.entries.get(key)

    def put(self, key, entry: tuple[str, bytes], max_entries: int, max_bytes: int) -> None:
        """Store an entry, then drop least recently used ones while over either bound."""
        with self.lock:
            old = self.entries.pop(key, None)
            self.bytes += len(entry[1]) - (len(old[1]) if old else 0)
            self.entries[key] = entry
            while len(self.entries) > 1 and (len(self.entries) > max_entries or self.bytes > max_bytes):
                self.bytes -= len(self.entries.popitem()[1][1])
