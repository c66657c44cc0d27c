"""RFC 7865 recording metadata (``application/rs-metadata+xml``) as a value object.

The SRC says who is on the call: the session, its participants and its streams (by SDP
``a=label``), tied by associations: who sends and receives which stream, who joined or left, when.
A partial update carries only what changed; ``merge`` folds it in. A participant's ``send``,
``recv``, ``left_at`` and a session's ``ended_at`` are derived by replaying the associations.

The document comes from the network: defusedxml parses it (no DTD, no entities), at most 1 MiB.
SBCs built on the pre-RFC drafts write ``id=`` or ``participant=`` for ``participant_id=`` and
``<aor>``, ``<send>``, ``<recv>`` inside ``<participant>``; those are read too, and output is
always the RFC 7865 form. Every failure is ``MetadataError``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, Literal, TypeVar

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]

NS: Final = "urn:ietf:params:xml:ns:recording:1"
MAX_BYTES: Final = 1 << 20
DataMode = Literal["complete", "partial"]
# Attribute spellings, RFC 7865 first, then the pre-RFC drafts' that SBCs still send.
_PARTICIPANT: Final = ("participant_id", "participant", "id")
_SESSION: Final = ("session_id", "session")
_Entity = TypeVar("_Entity", "Group", "Session", "Participant", "Stream")
_T = TypeVar("_T", bound="_Timed")
# Characters XML 1.0 cannot carry even escaped; ElementTree would write them and break the document.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class MetadataError(ValueError):
    """Bytes that are not usable rs-metadata, or metadata that cannot be written as it."""


@dataclass(frozen=True, kw_only=True)
class _Timed:
    associate_time: str | None = None  # RFC 3339 text, as sent: nothing here does arithmetic on it
    disassociate_time: str | None = None


@dataclass(frozen=True, kw_only=True)
class Group(_Timed):
    id: str


@dataclass(frozen=True, kw_only=True)
class Session:
    id: str
    sip_session_ids: tuple[str, ...] = ()
    group_ref: str | None = None
    ended_at: str | None = None  # derived: a sessionrecordingassoc's disassociate-time


@dataclass(frozen=True, kw_only=True)
class Participant:
    id: str
    name: str | None = None
    aors: tuple[str, ...] = ()
    send: tuple[str, ...] = ()  # derived: stream ids, from the participantstreamassocs
    recv: tuple[str, ...] = ()
    left_at: str | None = None  # derived: the disassociate-time of the participant's leaving

    @property
    def left(self) -> bool:
        return self.left_at is not None


@dataclass(frozen=True, kw_only=True)
class Stream:
    id: str
    session_id: str | None = None
    label: str | None = None  # the SDP a=label of the m-line carrying it


@dataclass(frozen=True, kw_only=True)
class SessionRecordingAssoc(_Timed):
    session_id: str


@dataclass(frozen=True, kw_only=True)
class ParticipantSessionAssoc(_Timed):
    participant_id: str
    session_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ParticipantStreamAssoc(_Timed):
    participant_id: str
    send: tuple[str, ...] = ()
    recv: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RecordingMetadata:
    data_mode: DataMode = "complete"
    groups: dict[str, Group] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    participants: dict[str, Participant] = field(default_factory=dict)
    streams: dict[str, Stream] = field(default_factory=dict)
    session_recording_associations: tuple[SessionRecordingAssoc, ...] = ()
    participant_session_associations: tuple[ParticipantSessionAssoc, ...] = ()
    participant_stream_associations: tuple[ParticipantStreamAssoc, ...] = ()

    @property
    def session(self) -> Session | None:
        """The (first) communication session: a SIPREC recording usually has exactly one."""
        return next(iter(self.sessions.values()), None)

    def participant_for_label(self, label: str) -> Participant | None:
        """Who sends on the stream with this SDP label; one still present beats one who left
        (a transfer can hand a stream on without disassociating the previous sender)."""
        ids = {s.id for s in self.streams.values() if s.label == label}
        senders = [p for p in self.participants.values() if ids.intersection(p.send)]
        return next((p for p in senders if not p.left), senders[0] if senders else None)

    @classmethod
    def parse(cls, data: str | bytes) -> RecordingMetadata:
        root = _load(data)
        mode = (_first(root, "datamode", "dataMode") or "complete").lower()
        if mode not in ("complete", "partial"):
            raise MetadataError(f"datamode {mode[:20]!r} is neither complete nor partial")
        groups = [_timed_from(e, Group, id=_id(e, "group_id", "id")) for e in _all(root, "group")]
        sessions = [
            Session(id=_id(e, "session_id", "id"), sip_session_ids=_texts(e, "sipSessionID"),
                    group_ref=_first(e, "group-ref"))
            for e in _all(root, "session")
        ]  # fmt: skip
        participants: dict[str, Participant] = {}
        inline: list[ParticipantStreamAssoc] = []
        for e in _all(root, "participant"):
            pid = _id(e, *_PARTICIPANT)
            names = [n for name_id in _all(e, "nameID") for n in _texts(name_id, "name")]
            aors = [(n.get("aor") or "").strip() for n in _all(e, "nameID")] + [*_texts(e, "aor")]
            person = Participant(id=pid, name=next(iter(names), _first(e, "name")),
                                 aors=tuple(a for a in aors if a))  # fmt: skip
            participants[pid] = _overlay(participants.get(pid), person)
            if (send := _texts(e, "send")) + (recv := _texts(e, "recv")):
                inline.append(ParticipantStreamAssoc(participant_id=pid, send=send, recv=recv))
        streams = [
            Stream(id=_id(e, "stream_id", "id"), session_id=_attr(e, *_SESSION),
                   label=_first(e, "label"))
            for e in _all(root, "stream")
        ]  # fmt: skip
        sra = [
            _timed_from(e, SessionRecordingAssoc, session_id=_id(e, *_SESSION, "id"))
            for e in _all(root, "sessionrecordingassoc")
        ]
        psa = [
            _timed_from(e, ParticipantSessionAssoc, participant_id=_id(e, *_PARTICIPANT),
                        session_id=_attr(e, *_SESSION))
            for e in _all(root, "participantsessionassoc")
        ]  # fmt: skip
        pstra = [
            _timed_from(e, ParticipantStreamAssoc, participant_id=_id(e, *_PARTICIPANT),
                        send=_texts(e, "send"), recv=_texts(e, "recv"))
            for e in _all(root, "participantstreamassoc")
        ]  # fmt: skip
        return _build(
            mode, {g.id: g for g in groups}, {s.id: s for s in sessions}, participants,
            {s.id: s for s in streams}, (*sra,), (*psa,), (*inline, *pstra),
        )  # fmt: skip

    def serialize(self) -> str:
        """RFC 7865 XML, children in the schema's order. A participant's ``send``/``recv`` that
        no association explains (metadata built by hand) is written as one more association."""
        # Unprefixed names under a default xmlns: the form every SBC and RFC example uses.
        root = ET.Element("recording", xmlns=NS)
        _sub(root, "datamode", self.data_mode)
        for g in self.groups.values():
            _timed(_sub(root, "group", group_id=g.id), g)
        for s in self.sessions.values():
            element = _sub(root, "session", session_id=s.id)
            _subs(element, "sipSessionID", s.sip_session_ids)
            _subs(element, "group-ref", [s.group_ref])
        for p in self.participants.values():
            element = _sub(root, "participant", participant_id=p.id)
            for i, aor in enumerate(p.aors or ([None] if p.name is not None else [])):
                name_id = _sub(element, "nameID", aor=aor)
                if i == 0 and p.name is not None:
                    _sub(name_id, "name", p.name)
        for st in self.streams.values():
            element = _sub(root, "stream", stream_id=st.id, session_id=st.session_id)
            _subs(element, "label", [st.label])
        for sra in self.session_recording_associations:
            _timed(_sub(root, "sessionrecordingassoc", session_id=sra.session_id), sra)
        for psa in self.participant_session_associations:
            ids = {"participant_id": psa.participant_id, "session_id": psa.session_id}
            _timed(_sub(root, "participantsessionassoc", **ids), psa)
        send, recv, _ = _replay(self.participant_stream_associations)
        unexplained = [
            ParticipantStreamAssoc(participant_id=p.id,
                                   send=tuple(s for s in p.send if s not in send.get(p.id, {})),
                                   recv=tuple(r for r in p.recv if r not in recv.get(p.id, {})))
            for p in self.participants.values()
        ]  # fmt: skip
        extra = [a for a in unexplained if a.send or a.recv]
        for a in (*self.participant_stream_associations, *extra):
            element = _sub(root, "participantstreamassoc", participant_id=a.participant_id)
            _subs(element, "send", a.send)
            _subs(element, "recv", a.recv)
            _timed(element, a)
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def merge(base: RecordingMetadata, update: RecordingMetadata) -> RecordingMetadata:
    """What we know after ``update``: a complete document replaces ``base``; a partial one adds
    participants, sessions, streams and groups, overrides the fields it sets (a stream may be
    re-labelled), and appends its associations, so a disassociation marks a participant left."""
    if update.data_mode == "complete":
        return update
    return _build(
        base.data_mode, _merged(base.groups, update.groups),
        _merged(base.sessions, update.sessions), _merged(base.participants, update.participants),
        _merged(base.streams, update.streams),
        base.session_recording_associations + update.session_recording_associations,
        base.participant_session_associations + update.participant_session_associations,
        base.participant_stream_associations + update.participant_stream_associations,
    )  # fmt: skip


def _overlay(old: _Entity | None, new: _Entity) -> _Entity:
    # A later element for the same id (in one document or an update) overrides what it sets.
    if old is None:
        return new
    return replace(old, **{f.name: v for f in fields(new) if (v := getattr(new, f.name))})


def _merged(old: dict[str, _Entity], new: dict[str, _Entity]) -> dict[str, _Entity]:
    return {**old, **{key: _overlay(old.get(key), value) for key, value in new.items()}}


# participant id → stream ids; dicts as ordered sets keep a replay of 70,000 <send>s linear
_Streams = dict[str, dict[str, None]]


def _replay(
    associations: tuple[ParticipantStreamAssoc, ...],
) -> tuple[_Streams, _Streams, dict[str, str | None]]:
    send: _Streams = {}
    recv: _Streams = {}
    left: dict[str, str | None] = {}
    for a in associations:
        s, r = send.setdefault(a.participant_id, {}), recv.setdefault(a.participant_id, {})
        if a.disassociate_time is None:
            s.update(dict.fromkeys(a.send))
            r.update(dict.fromkeys(a.recv))
        else:
            for stream_id in a.send:
                s.pop(stream_id, None)
            for stream_id in a.recv:
                r.pop(stream_id, None)
        # SRCs that never send participantsessionassoc say "left" by ending every stream.
        left[a.participant_id] = a.disassociate_time if not (s or r) else None
    return send, recv, left


def _build(
    mode: str, groups: dict[str, Group], sessions: dict[str, Session],
    participants: dict[str, Participant], streams: dict[str, Stream],
    sra: tuple[SessionRecordingAssoc, ...], psa: tuple[ParticipantSessionAssoc, ...],
    pstra: tuple[ParticipantStreamAssoc, ...],
) -> RecordingMetadata:  # fmt: skip
    send, recv, left = _replay(pstra)
    # The last participantsessionassoc decides presence wherever there is one.
    left.update((a.participant_id, a.disassociate_time) for a in psa)
    people = {pid: participants.get(pid) or Participant(id=pid) for pid in [*participants, *left]}
    ended = {a.session_id: a.disassociate_time for a in sra}
    return RecordingMetadata(
        data_mode="partial" if mode == "partial" else "complete",
        groups=groups,
        sessions={sid: replace(sessions.get(sid) or Session(id=sid), ended_at=ended.get(sid))
                  for sid in [*sessions, *ended]},
        participants={pid: replace(p, send=tuple(send.get(pid, ())), recv=tuple(recv.get(pid, ())),
                                   left_at=left.get(pid)) for pid, p in people.items()},
        streams=streams,
        session_recording_associations=sra,
        participant_session_associations=psa,
        participant_stream_associations=pstra,
    )  # fmt: skip


def _load(data: str | bytes) -> ET.Element:
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise MetadataError(f"{size} bytes of metadata, over the {MAX_BYTES}-byte limit")
    try:
        root: ET.Element = SafeET.fromstring(data, forbid_dtd=True)
    except (ET.ParseError, ValueError, LookupError) as exc:
        # defusedxml's DTD and entity refusals are ValueErrors; LookupError: unknown encoding.
        raise MetadataError(f"not well-formed XML without a DTD: {exc}") from None
    if root.tag != f"{{{NS}}}recording":
        raise MetadataError(f"root element {root.tag[:80]!r}, expected <recording> in {NS}")
    return root


def _all(element: ET.Element, *names: str) -> list[ET.Element]:
    # Only our namespace: RFC 7865 extensions come in others and are ignored.
    tags = {f"{{{NS}}}{name}" for name in names}
    return [child for child in element if child.tag in tags]


def _texts(element: ET.Element, *names: str) -> tuple[str, ...]:
    return tuple(text for c in _all(element, *names) if (text := (c.text or "").strip()))


def _first(element: ET.Element, *names: str) -> str | None:
    return next(iter(_texts(element, *names)), None)


def _attr(element: ET.Element, *names: str) -> str | None:
    return next((v.strip() for n in names if (v := element.get(n)) and v.strip()), None)


def _id(element: ET.Element, *names: str) -> str:
    if (value := _attr(element, *names)) is None:
        raise MetadataError(f"<{element.tag.split('}')[-1]}> has no {names[0]} attribute")
    return value


def _timed_from(element: ET.Element, cls: type[_T], **values: Any) -> _T:
    start, end = _first(element, "associate-time"), _first(element, "disassociate-time")
    return cls(associate_time=start, disassociate_time=end, **values)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    present = {name: value for name, value in attrs.items() if value is not None}
    if any(_NOT_XML.search(v) for v in (text or "", *present.values())):
        raise MetadataError(f"<{tag}>: a value has a character XML cannot carry")
    element = ET.SubElement(parent, tag, present)
    element.text = text
    return element


def _subs(parent: ET.Element, tag: str, texts: Iterable[str | None]) -> None:
    for text in texts:
        if text is not None:
            _sub(parent, tag, text)


def _timed(element: ET.Element, timed: _Timed) -> None:
    _subs(element, "associate-time", [timed.associate_time])
    _subs(element, "disassociate-time", [timed.disassociate_time])
