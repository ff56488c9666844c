"""The document-database port: the subset of pymongo's API the stores use, typed, and the errors they read.

Every backend implements it or refuses an option at once: ``shared/platform/mongo_db.py`` (MongoDB, FerretDB and the
embedded engine, through pymongo's API) and ``shared/platform/cloudbase_db.py`` (the environment's own database
through Tencent's cloud API). Nothing here imports a driver: the CloudBase path loads neither pymongo's client nor
anything it does not use. The names are pymongo's, so a store reads the same whichever backend runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

ASCENDING, DESCENDING = 1, -1
Document = dict[str, Any]
Filter = Mapping[str, Any]
SortSpec = Sequence[tuple[str, int]]


class ReturnDocument:
    """Which version ``find_one_and_update`` answers (pymongo's values)."""

    BEFORE = False
    AFTER = True


class DatabaseError(Exception):
    """A backend failed or could not be reached; ``timeout``: it could not be reached in time (the invocation then
    treats the database as lost: ``shared.platform.deadline``)."""

    def __init__(self, message: str, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class DuplicateKeyError(DatabaseError):
    """A unique index already holds that key: "already there", the same on every backend."""


class BulkWriteError(DatabaseError):
    """Some documents of a bulk write failed; ``details["writeErrors"]``: ``{index, code, errmsg}`` by their place."""

    def __init__(self, details: Mapping[str, Any]) -> None:
        super().__init__(f"bulk write failed: {len(details.get('writeErrors', []))} write errors")
        self.details = dict(details)


class ReplaceOne(NamedTuple):
    """A bulk replacement (``bulk_write``)."""

    filter: Filter
    replacement: Document
    upsert: bool = False


class DeleteMany(NamedTuple):
    """A bulk deletion (``bulk_write``)."""

    filter: Filter


class UpdateOutcome(Protocol):
    @property
    def matched_count(self) -> int: ...
    @property
    def modified_count(self) -> int: ...
    @property
    def upserted_id(self) -> Any: ...


class InsertOutcome(Protocol):
    @property
    def inserted_id(self) -> Any: ...


class DeleteOutcome(Protocol):
    @property
    def deleted_count(self) -> int: ...


class Cursor(Protocol):
    def sort(self, key_or_list: Any, direction: int | None = None) -> Cursor: ...
    def skip(self, count: int) -> Cursor: ...
    def limit(self, count: int) -> Cursor: ...
    def hint(self, index: Any) -> Cursor: ...
    def batch_size(self, size: int) -> Cursor: ...
    def __iter__(self) -> Iterator[Document]: ...


class Collection(Protocol):
    """What a store may call on a collection (tests/platform/test_database_subset.py runs it on every backend)."""

    @property
    def name(self) -> str: ...
    def find(self, filter: Filter | None = None, projection: Any = None, **options: Any) -> Cursor: ...
    def find_one(self, filter: Any = None, projection: Any = None, **options: Any) -> Document | None: ...
    def count_documents(self, filter: Filter, **options: Any) -> int: ...
    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **options: Any) -> Iterable[Document]: ...
    def distinct(self, key: str, filter: Filter | None = None) -> list[Any]: ...
    def insert_one(self, document: Document) -> InsertOutcome: ...
    def insert_many(self, documents: Sequence[Document], ordered: bool = True) -> Any: ...
    def update_one(self, filter: Filter, update: Any, upsert: bool = False) -> UpdateOutcome: ...
    def update_many(self, filter: Filter, update: Any, upsert: bool = False) -> UpdateOutcome: ...
    def replace_one(self, filter: Filter, replacement: Document, upsert: bool = False) -> UpdateOutcome: ...
    def delete_one(self, filter: Filter) -> DeleteOutcome: ...
    def delete_many(self, filter: Filter) -> DeleteOutcome: ...
    def find_one_and_update(
        self,
        filter: Filter,
        update: Any,
        projection: Any = None,
        sort: Any = None,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
    ) -> Document | None: ...
    def bulk_write(self, requests: Sequence[ReplaceOne | DeleteMany], ordered: bool = True) -> Any: ...
    def create_index(self, keys: Any, **options: Any) -> str: ...
    def drop_index(self, name: str) -> None: ...
    def index_information(self) -> dict[str, dict[str, Any]]: ...


class Database(Protocol):
    """A database: its collections by name."""

    def __getitem__(self, name: str) -> Collection: ...
    def list_collection_names(self) -> list[str]: ...


class UpdateResult(NamedTuple):
    """An update's outcome (a backend of ours answers these; pymongo's results have the same fields)."""

    matched_count: int
    modified_count: int
    upserted_id: Any = None


class InsertOneResult(NamedTuple):
    inserted_id: Any


class InsertManyResult(NamedTuple):
    inserted_ids: list[Any]


class DeleteResult(NamedTuple):
    deleted_count: int
