"""A write-through cache of documents for the process that is their one writer (SQLite's).

Handlers read documents on many events (is this operation context an announcement of mine? which
menu sessions does this call have?), and most answers do not change between two events. A store
that only this process writes (SQLite: one bot process per file) can answer them from memory. So
can a Redis store for the leading replica: it alone runs the handlers, and every other replica
passes API requests on to it, so nobody else writes their documents while it leads; when a term
begins, `forget` empties the cache (others wrote meanwhile). The namespaces that replicas share
(``cluster``: who leads, where) are never cached.

A read fills the cache only if no write to the cache happened while it ran (``generation``), so a
read that raced with a write never leaves the older value behind. A write empties its key before
it goes to the store and fills it once stored; a namespace's listing is cached whole, and dropped
by any write into the namespace.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Protocol

from bot.state.base import dump_doc, load_doc

# Documents (or known absences) kept at most; the least recently used go first.
DOC_LIMIT = 50_000
# Namespaces whose listing is kept, and the largest listing kept (more is read every time).
LISTING_LIMIT = 10_000
LISTING_SIZE = 200

_Key = tuple[str, str]
# Namespaces several replicas write (`bot.cluster`): read from the store every time.
SHARED_NAMESPACES = frozenset({"cluster"})


class DocCache:
    def __init__(self) -> None:
        # None: the document is known not to exist.
        self._docs: OrderedDict[_Key, str | None] = OrderedDict()
        self._listings: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, namespace: str, key: str) -> tuple[bool, str | None]:
        """(True, text or None when absent) on a hit; (False, None) when the store must be read."""
        found = self._docs.get((namespace, key), self)
        if found is self:
            return False, None
        self._docs.move_to_end((namespace, key))
        return True, found if isinstance(found, str) else None

    def fill(self, namespace: str, key: str, text: str | None, generation: int) -> None:
        """What a read that started at ``generation`` found."""
        if generation == self._generation:
            self._set(namespace, key, text)

    def listing(self, namespace: str) -> dict[str, str] | None:
        found = self._listings.get(namespace)
        if found is not None:
            self._listings.move_to_end(namespace)
        return found

    def fill_listing(self, namespace: str, docs: dict[str, str], generation: int) -> None:
        if generation == self._generation and len(docs) <= LISTING_SIZE:
            self._listings[namespace] = dict(docs)
            while len(self._listings) > LISTING_LIMIT:
                self._listings.popitem(last=False)

    def writing(self, namespace: str, key: str) -> None:
        """Before a write of the document goes to the store: nothing cached of it holds."""
        self._generation += 1
        self._docs.pop((namespace, key), None)
        self._listings.pop(namespace, None)

    def written(self, namespace: str, key: str, text: str | None) -> None:
        """After the store took the write: ``text`` (None: deleted) is what it holds now."""
        self._generation += 1
        self._set(namespace, key, text)
        self._listings.pop(namespace, None)

    def forget(self) -> None:
        self._generation += 1
        self._docs.clear()
        self._listings.clear()

    def _set(self, namespace: str, key: str, text: str | None) -> None:
        self._docs[(namespace, key)] = text
        self._docs.move_to_end((namespace, key))
        while len(self._docs) > DOC_LIMIT:
            self._docs.popitem(last=False)


class RawDocs(Protocol):
    """A store's documents as text, uncached."""

    async def get_text(self, namespace: str, key: str) -> str | None: ...

    async def put_text(self, namespace: str, key: str, text: str) -> None: ...

    async def put_text_if_absent(self, namespace: str, key: str, text: str) -> str | None:
        """None when stored; else the text already there."""

    async def delete_text(self, namespace: str, key: str) -> None: ...

    async def list_texts(self, namespace: str) -> dict[str, str]: ...


class CachedDocs:
    """The document half of `StateStore` over a store's `RawDocs`, through a `DocCache`."""

    def __init__(self, raw: RawDocs, *, shared: frozenset[str] = frozenset()) -> None:
        self._raw = raw
        self._shared = shared
        self.cache = DocCache()

    async def get(self, namespace: str, key: str) -> dict[str, Any] | None:
        if namespace in self._shared:
            text = await self._raw.get_text(namespace, key)
            return load_doc(text) if text is not None else None
        hit, text = self.cache.get(namespace, key)
        if not hit:
            generation = self.cache.generation
            text = await self._raw.get_text(namespace, key)
            self.cache.fill(namespace, key, text, generation)
        return load_doc(text) if text is not None else None

    async def put(self, namespace: str, key: str, doc: dict[str, Any]) -> None:
        text = dump_doc(doc)
        self.cache.writing(namespace, key)
        await self._raw.put_text(namespace, key, text)
        self.cache.written(namespace, key, text)

    async def put_if_absent(self, namespace: str, key: str, doc: dict[str, Any]) -> dict[str, Any] | None:
        text = dump_doc(doc)
        self.cache.writing(namespace, key)
        existing = await self._raw.put_text_if_absent(namespace, key, text)
        self.cache.written(namespace, key, text if existing is None else existing)
        return None if existing is None else load_doc(existing)

    async def delete(self, namespace: str, key: str) -> None:
        self.cache.writing(namespace, key)
        await self._raw.delete_text(namespace, key)
        self.cache.written(namespace, key, None)

    async def listing(self, namespace: str) -> list[dict[str, Any]]:
        texts = None if namespace in self._shared else self.cache.listing(namespace)
        if texts is None:
            generation = self.cache.generation
            texts = await self._raw.list_texts(namespace)
            self.cache.fill_listing(namespace, texts, generation)
        return [load_doc(texts[key]) for key in sorted(texts)]
