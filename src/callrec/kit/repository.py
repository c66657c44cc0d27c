"""The base repository: owns queries for one table, scoped to an org where the table has one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from callrec.kit.errors import NotFound
from callrec.models.base import Base

M = TypeVar("M", bound=Base)


class Repository(Generic[M]):
    model: type[M]
    label: str = "resource"

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, obj: M) -> M:
        self.session.add(obj)
        self.session.flush()
        return obj

    def delete(self, obj: M) -> None:
        self.session.delete(obj)
        self.session.flush()

    def org_select(self, org_id: uuid.UUID) -> Select[M]:
        org_col: Any = self.model.org_id  # type: ignore[attr-defined]
        return select(self.model).where(org_col == org_id)

    def get_in_org(self, org_id: uuid.UUID, obj_id: uuid.UUID) -> M:
        """Another org's id gives the same 404 as a missing one: never reveal it exists."""
        id_col: Any = self.model.id  # type: ignore[attr-defined]
        obj = self.session.scalars(self.org_select(org_id).where(id_col == obj_id)).first()
        if obj is None:
            raise NotFound(f"{self.label} {obj_id} not found", details={"id": str(obj_id)})
        return obj

    def list_in_org(self, org_id: uuid.UUID) -> Sequence[M]:
        id_col: Any = self.model.id  # type: ignore[attr-defined]
        return self.session.scalars(self.org_select(org_id).order_by(id_col)).all()
