"""Opaque keyset cursors: the sort, its direction and the last row's key (value, id).

The cursor is base64url JSON. It is not signed because it grants nothing: the viewer's scope
and filters are applied to every page whatever the cursor says; a tampered cursor only moves
the viewer within their own rows. A malformed one is a clear 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from callrec.calls.report_schemas import SortKey, SortOrder
from callrec.kit.errors import BadRequest

KeyValue = datetime | float | str


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: SortKey
    order: SortOrder
    value: KeyValue
    id: uuid.UUID


def encode_cursor(cursor: Cursor) -> str:
    value: object = cursor.value
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([cursor.sort.value, cursor.order.value, value, str(cursor.id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: SortKey, order: SortOrder) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort_s, order_s, value, id_s = json.loads(raw)
        cursor = Cursor(SortKey(sort_s), SortOrder(order_s), _value(SortKey(sort_s), value),
                        uuid.UUID(id_s))  # fmt: skip
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is malformed; start again without one") from exc
    if (cursor.sort, cursor.order) != (sort, order):
        raise BadRequest(
            f"the cursor belongs to sort {cursor.sort} {cursor.order}, not {sort} {order}",
            details={"cursor_sort": cursor.sort, "cursor_order": cursor.order},
        )
    return cursor


def _value(sort: SortKey, value: object) -> KeyValue:
    if sort is SortKey.STARTED_AT and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive cursor time")
        return parsed
    if sort is SortKey.DURATION and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if sort in (SortKey.FROM_NUMBER, SortKey.TO_NUMBER) and isinstance(value, str):
        return value
    raise ValueError("cursor value does not match its sort")
