"""Append-only audit log: who changed what, before and after. Nothing here updates or deletes rows."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from dao import bulk
from dao.db import current
from dao.models import AuditLog, now

log = logging.getLogger("pension.changes")


def _log_when_committed(text: str, *args: object) -> None:
    """The log says a change happened only once it did (immediately outside a transaction)."""
    after_commit = getattr(current(), "after_commit", None)  # peewee 4.5 on; before, logged at once
    try:
        if after_commit is not None:
            after_commit(lambda: log.info(text, *args))
            return
    except ValueError:  # a manual transaction: no commit hook
        pass
    log.info(text, *args)


def _default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _dump(data: dict[str, Any] | None) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=_default) if data else ""


def record(
    username: str,
    action: str,
    entity: str,
    entity_id: object = "",
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    AuditLog.insert(
        at=now(),
        username=username,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=_dump(before),
        after=_dump(after),
    ).execute()
    _log_when_committed("%s: %s %s %s", username, action, entity, entity_id)


def record_many(username: str, action: str, entity: str, changes: Iterable[tuple[object, dict, dict]]) -> int:
    """Many entries in bulk: ``changes`` yields (entity_id, before, after)."""
    rows = [(str(entity_id), _dump(before), _dump(after)) for entity_id, before, after in changes]
    bulk.insert_rows(AuditLog, ("entity_id", "before", "after"), rows,
                     {"at": now(), "username": username, "action": action, "entity": entity})  # fmt: skip
    _log_when_committed("%s: %s %s (%s entries)", username, action, entity, len(rows))
    return len(rows)


def entries(entity: str | None = None, entity_id: object | None = None, limit: int = 200) -> list[AuditLog]:
    query = AuditLog.select().order_by(AuditLog.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    return list(query)
