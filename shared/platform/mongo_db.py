"""MongoDB (and FerretDB, and the embedded engine) behind the document-database port.

pymongo's ``Database`` and ``Collection`` already speak the port; this adapter only translates what differs at the
boundary: pymongo's errors become the port's (``raise … from``: a duplicate key is "already there", a lost server is a
``DatabaseError`` with ``timeout``), and the port's bulk operations become pymongo's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pymongo
from pymongo.errors import BulkWriteError as MongoBulkWriteError
from pymongo.errors import ConnectionFailure, PyMongoError
from pymongo.errors import DuplicateKeyError as MongoDuplicateKeyError

from shared.platform.documents import (
    BulkWriteError,
    DatabaseError,
    DeleteMany,
    Document,
    DuplicateKeyError,
    Filter,
    ReplaceOne,
    ReturnDocument,
)


def translated(exc: PyMongoError) -> DatabaseError:
    """pymongo's error as the port's."""
    if isinstance(exc, MongoDuplicateKeyError):
        return DuplicateKeyError(str(exc))
    if isinstance(exc, MongoBulkWriteError):
        return BulkWriteError(exc.details)
    return DatabaseError(str(exc), timeout=isinstance(exc, ConnectionFailure) or bool(getattr(exc, "timeout", False)))


@contextmanager
def _port_errors() -> Iterator[None]:
    try:
        yield
    except PyMongoError as exc:
        raise translated(exc) from exc


class MongoCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, key_or_list: Any, direction: int | None = None) -> MongoCursor:
        self._cursor.sort(key_or_list, direction) if direction is not None else self._cursor.sort(key_or_list)
        return self

    def skip(self, count: int) -> MongoCursor:
        self._cursor.skip(count)
        return self

    def limit(self, count: int) -> MongoCursor:
        self._cursor.limit(count)
        return self

    def hint(self, index: Any) -> MongoCursor:
        self._cursor.hint(index)
        return self

    def batch_size(self, size: int) -> MongoCursor:
        self._cursor.batch_size(size)
        return self

    def __iter__(self) -> Iterator[Document]:
        with _port_errors():
            yield from self._cursor


class MongoCollection:
    """A pymongo collection with the port's errors; anything else is pymongo's own (tests and ops scripts)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.name: str = collection.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, filter: Filter | None = None, projection: Any = None, **options: Any) -> MongoCursor:
        return MongoCursor(self._collection.find(filter, projection, **options))

    def find_one(self, filter: Any = None, projection: Any = None, **options: Any) -> Document | None:
        with _port_errors():
            return self._collection.find_one(filter, projection, **options)

    def count_documents(self, filter: Filter, **options: Any) -> int:
        with _port_errors():
            return int(self._collection.count_documents(filter, **options))

    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **options: Any) -> Iterator[Document]:
        with _port_errors():
            yield from self._collection.aggregate(list(pipeline), **options)

    def distinct(self, key: str, filter: Filter | None = None) -> list[Any]:
        with _port_errors():
            return list(self._collection.distinct(key, filter))

    def insert_one(self, document: Document, **options: Any) -> Any:
        with _port_errors():
            return self._collection.insert_one(document, **options)

    def insert_many(self, documents: Sequence[Document], ordered: bool = True, **options: Any) -> Any:
        with _port_errors():
            return self._collection.insert_many(documents, ordered=ordered, **options)

    def update_one(self, filter: Filter, update: Any, upsert: bool = False, **options: Any) -> Any:
        with _port_errors():
            return self._collection.update_one(filter, update, upsert=upsert, **options)

    def update_many(self, filter: Filter, update: Any, upsert: bool = False, **options: Any) -> Any:
        with _port_errors():
            return self._collection.update_many(filter, update, upsert=upsert, **options)

    def replace_one(self, filter: Filter, replacement: Document, upsert: bool = False, **options: Any) -> Any:
        with _port_errors():
            return self._collection.replace_one(filter, replacement, upsert=upsert, **options)

    def delete_one(self, filter: Filter) -> Any:
        with _port_errors():
            return self._collection.delete_one(filter)

    def delete_many(self, filter: Filter) -> Any:
        with _port_errors():
            return self._collection.delete_many(filter)

    def find_one_and_update(
        self,
        filter: Filter,
        update: Any,
        projection: Any = None,
        sort: Any = None,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
        **options: Any,
    ) -> Document | None:
        with _port_errors():
            return self._collection.find_one_and_update(
                filter,
                update,
                projection=projection,
                sort=sort,
                upsert=upsert,
                return_document=pymongo.ReturnDocument.AFTER if return_document else pymongo.ReturnDocument.BEFORE,
                **options,
            )

    def bulk_write(self, requests: Sequence[ReplaceOne | DeleteMany], ordered: bool = True) -> Any:
        operations = [
            pymongo.ReplaceOne(r.filter, r.replacement, upsert=r.upsert)
            if isinstance(r, ReplaceOne)
            else pymongo.DeleteMany(r.filter)
            for r in requests
        ]
        with _port_errors():
            return self._collection.bulk_write(operations, ordered=ordered)

    def create_index(self, keys: Any, **options: Any) -> str:
        with _port_errors():
            return str(self._collection.create_index(keys, **options))

    def drop_index(self, name: str) -> None:
        with _port_errors():
            self._collection.drop_index(name)

    def index_information(self) -> dict[str, dict[str, Any]]:
        with _port_errors():
            return dict(self._collection.index_information())


class MongoDatabase:
    """A pymongo database whose collections speak the port (``db[name]``, and ``db.name`` as pymongo allows)."""

    _OWN = ("client", "name", "command", "list_collection_names", "create_collection", "drop_collection")

    def __init__(self, database: Any) -> None:
        self._database = database

    def __getitem__(self, name: str) -> MongoCollection:
        return MongoCollection(self._database[name])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._OWN:
            return getattr(self._database, name)
        return self[name]

    def list_collection_names(self) -> list[str]:
        with _port_errors():
            return list(self._database.list_collection_names())

    def command(self, *args: Any, **kwargs: Any) -> Any:
        with _port_errors():
            return self._database.command(*args, **kwargs)
