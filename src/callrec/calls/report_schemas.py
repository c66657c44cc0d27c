"""API shapes of the call-list report: filters, sorting, rows, pages and saved filters."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from callrec.calls.report_time import DATE_QUICK_FILTERS, QuickFilter, as_instant, parse_tz
from callrec.directory.schemas import Strict
from callrec.models import CallDirection, RecordingState


class SortKey(StrEnum):
    STARTED_AT = "started_at"
    DURATION = "duration"
    FROM_NUMBER = "from_number"
    TO_NUMBER = "to_number"


class SortOrder(StrEnum):
    ASC = "asc"
    DESC = "desc"


class Disposition(StrEnum):
    """From the call's timestamps alone (see ``report.disposition_of``):
    answered — ``answered_at`` is set; abandoned — never answered, ended less than
    ``ABANDONED_BELOW_S`` after it began; missed — never answered, ended after ringing at least
    that long. A call neither answered nor ended (still ringing) has no disposition."""

    ANSWERED = "answered"
    MISSED = "missed"
    ABANDONED = "abandoned"


NumberPrefix = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)
]
# Quality flags are identifiers (media/quality.py: zero_length, one_sided, mostly_silent, …).
QualityFlag = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]


class ReportFilters(Strict):
    """Every criterion is optional and they are ANDed; a list matches any of its values."""

    tz: str = Field(
        default="UTC",
        description="IANA zone ('Europe/Berlin') or UTC offset ('+02:00', '-0530', 'UTC'): "
        "the zone of dates, naive datetimes and the today/yesterday/last_7_days quick filters",
    )
    quick: list[QuickFilter] = Field(default_factory=list, max_length=5)
    date_from: date | None = Field(default=None, description="first local day (inclusive)")
    date_to: date | None = Field(default=None, description="last local day (inclusive)")
    started_after: datetime | None = Field(default=None, description="start >= this instant")
    started_before: datetime | None = Field(default=None, description="start < this instant")
    direction: list[CallDirection] = Field(default_factory=list, max_length=3)
    user_id: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    team_id: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    number: NumberPrefix | None = Field(default=None, description="prefix of from or to")
    from_number: NumberPrefix | None = Field(default=None, description="prefix of from")
    to_number: NumberPrefix | None = Field(default=None, description="prefix of to")
    min_duration_s: float | None = Field(default=None, ge=0, le=10**7)
    max_duration_s: float | None = Field(default=None, ge=0, le=10**7)
    disposition: list[Disposition] = Field(default_factory=list, max_length=3)
    has_recording: bool | None = None
    recording_status: list[RecordingState] = Field(default_factory=list, max_length=5)
    quality_flag: list[QualityFlag] = Field(default_factory=list, max_length=10)
    sort: SortKey = SortKey.STARTED_AT
    order: SortOrder = SortOrder.DESC

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        parse_tz(value)  # raises ValueError with the reason
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ReportFilters:
        if len(set(self.quick) & DATE_QUICK_FILTERS) > 1:
            raise ValueError("choose at most one of the today/yesterday/last_7_days quick filters")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if (
            self.min_duration_s is not None
            and self.max_duration_s is not None
            and self.min_duration_s > self.max_duration_s
        ):
            raise ValueError("min_duration_s is greater than max_duration_s")
        if self.started_after and self.started_before:
            zone = parse_tz(self.tz)  # one may be naive (wall clock in tz), the other not
            if as_instant(self.started_after, zone) >= as_instant(self.started_before, zone):
                raise ValueError("started_after is not before started_before")
        return self


class ReportQuery(ReportFilters):
    """The query string of ``GET /reports/calls``: filters plus paging and a saved filter."""

    saved_filter_id: uuid.UUID | None = Field(
        default=None, description="start from this saved filter; given parameters override it"
    )
    cursor: str | None = Field(default=None, max_length=2000)
    limit: int = Field(default=50, ge=1, le=500)

    def resolve(self, saved: dict[str, Any] | None = None) -> ReportFilters:
        """The filters to run: a saved filter's, with every filter parameter this request
        set replacing the saved value."""
        given = self.model_dump(mode="json", include=self.model_fields_set & _FILTER_FIELDS)
        return ReportFilters.model_validate({**(saved or {}), **given})


_FILTER_FIELDS = frozenset(ReportFilters.model_fields)


class ReportUser(BaseModel):
    id: uuid.UUID
    name: str


class CallReportRow(BaseModel):
    id: uuid.UUID
    external_id: str
    direction: CallDirection
    from_number: str
    to_number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None = Field(description="ended_at - started_at; null while in progress")
    disposition: Disposition | None
    users: list[ReportUser] = Field(description="our users who took part")
    team_ids: list[uuid.UUID] = Field(description="teams the call is tagged with")
    playable_recordings: int = Field(description="ready recordings this viewer may play")
    has_playable_recording: bool = Field(description="show the recording icon")


class CallReportPage(BaseModel):
    items: list[CallReportRow]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at end")
    sort: SortKey
    order: SortOrder
    limit: int


FilterName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SavedFilterCreate(Strict):
    name: FilterName
    filters: ReportFilters = Field(default_factory=ReportFilters)
    shared_team_id: uuid.UUID | None = None


class SavedFilterUpdate(Strict):
    """Partial: only the fields sent change; ``shared_team_id: null`` stops sharing."""

    name: FilterName | None = None
    filters: ReportFilters | None = None
    shared_team_id: uuid.UUID | None = None


class SavedFilterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    filters: ReportFilters
    shared_team_id: uuid.UUID | None
    mine: bool = Field(description="the viewer owns it (may rename, change, delete)")
    created_at: datetime
    updated_at: datetime
