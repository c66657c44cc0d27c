"""RFC 7865 rs-metadata as SRCs send it: a complete snapshot, a partial update for a transfer, the
pre-RFC spelling SBCs still emit, hostile XML, and a parser that fails only with MetadataError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.telephony.siprec.metadata import (
    MAX_BYTES,
    Group,
    MetadataError,
    Participant,
    ParticipantSessionAssoc,
    ParticipantStreamAssoc,
    RecordingMetadata,
    Session,
    SessionRecordingAssoc,
    Stream,
    merge,
)

SESSION = "hVpd7YQgRW2nD22h7q60JQ=="
ALICE, BOB, CAROL = "srfBElmCRp2QB23b7Mpk0w==", "zSfPoSvdSDCmU3A3TRDxAw==", "Q2Fyb2wtMDM0NQ=="
TO_ALICE, FROM_ALICE = "UAAMm5GRQKSCMVvLyl4rFw==", "i1Pz3to5hGk8fuXl+PbwCw=="

# The structure of RFC 7865 §10's example: a group, one session, two participants, two streams
# (labels 1 and 2, the SDP's a=label), the three kinds of association, and extension elements in
# other namespaces, which are ignored.
COMPLETE = f"""<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>complete</datamode>
  <group group_id="7+OTCyoxTmqmqyA/1weDAg==">
    <associate-time>2024-05-02T09:14:07Z</associate-time>
    <call-center xmlns="urn:ietf:params:xml:ns:callcenter">
      <supervisor>sip:supervisor@cc.example.com</supervisor>
    </call-center>
  </group>
  <session session_id="{SESSION}">
    <sipSessionID>ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2</sipSessionID>
    <group-ref>7+OTCyoxTmqmqyA/1weDAg==</group-ref>
    <mydata xmlns="http://example.com/my"><structure>opaque</structure></mydata>
  </session>
  <participant participant_id="{ALICE}">
    <nameID aor="sip:alice@atlanta.example.com">
      <name xml:lang="en">Alice</name>
    </nameID>
  </participant>
  <participant participant_id="{BOB}">
    <nameID aor="sip:bob@biloxi.example.com">
      <name xml:lang="en">Bob</name>
    </nameID>
    <nameID aor="tel:+15551234567"/>
  </participant>
  <stream stream_id="{FROM_ALICE}" session_id="{SESSION}">
    <label>1</label>
  </stream>
  <stream stream_id="{TO_ALICE}" session_id="{SESSION}">
    <label>2</label>
  </stream>
  <sessionrecordingassoc session_id="{SESSION}">
    <associate-time>2024-05-02T09:14:07Z</associate-time>
  </sessionrecordingassoc>
  <participantsessionassoc participant_id="{ALICE}" session_id="{SESSION}">
    <associate-time>2024-05-02T09:14:07Z</associate-time>
  </participantsessionassoc>
  <participantsessionassoc participant_id="{BOB}" session_id="{SESSION}">
    <associate-time>2024-05-02T09:14:07Z</associate-time>
  </participantsessionassoc>
  <participantstreamassoc participant_id="{ALICE}">
    <send>{FROM_ALICE}</send>
    <recv>{TO_ALICE}</recv>
  </participantstreamassoc>
  <participantstreamassoc participant_id="{BOB}">
    <send>{TO_ALICE}</send>
    <recv>{FROM_ALICE}</recv>
  </participantstreamassoc>
</recording>
"""

# Bob transfers Alice to Carol: Carol joins and takes over Bob's stream, Bob leaves.
TRANSFER = f"""<?xml version="1.0" encoding="UTF-8"?>
<recording xmlns="urn:ietf:params:xml:ns:recording:1">
  <datamode>partial</datamode>
  <participant participant_id="{CAROL}">
    <nameID aor="sip:carol@chicago.example.com">
      <name xml:lang="en">Carol</name>
    </nameID>
  </participant>
  <participantsessionassoc participant_id="{CAROL}" session_id="{SESSION}">
    <associate-time>2024-05-02T09:20:31Z</associate-time>
  </participantsessionassoc>
  <participantsessionassoc participant_id="{BOB}" session_id="{SESSION}">
    <disassociate-time>2024-05-02T09:20:31Z</disassociate-time>
  </participantsessionassoc>
  <participantstreamassoc participant_id="{BOB}">
    <send>{TO_ALICE}</send>
    <recv>{FROM_ALICE}</recv>
    <disassociate-time>2024-05-02T09:20:31Z</disassociate-time>
  </participantstreamassoc>
  <participantstreamassoc participant_id="{CAROL}">
    <send>{TO_ALICE}</send>
    <recv>{FROM_ALICE}</recv>
    <associate-time>2024-05-02T09:20:31Z</associate-time>
  </participantstreamassoc>
</recording>
"""

# The pre-RFC draft spelling an SBC still sends: id= and session= attributes, <aor>, <name>,
# <send> and <recv> inside <participant>, no association elements, single-quoted namespace.
SBC_STYLE = """<?xml version='1.0' encoding='UTF-8'?>
<recording xmlns='urn:ietf:params:xml:ns:recording:1'>
  <dataMode>complete</dataMode>
  <session id="bDBu9dQ3T5KP2Lm0x8zYcw==">
    <sipSessionID>7f3d1a2b9c@10.20.30.40</sipSessionID>
  </session>
  <participant id="cGFydGljaXBhbnQtMQ==" session="bDBu9dQ3T5KP2Lm0x8zYcw==">
    <nameID aor="sip:+14155550100@trunk.example.net">
      <name>+14155550100</name>
    </nameID>
    <aor>tel:+14155550100</aor>
    <send>c3RyZWFtLWE=</send>
    <recv>c3RyZWFtLWI=</recv>
    <associate-time>2024-05-02T10:00:00Z</associate-time>
  </participant>
  <participant id="cGFydGljaXBhbnQtMg==" session="bDBu9dQ3T5KP2Lm0x8zYcw==">
    <aor>sip:agent1042@pbx.example.com</aor>
    <name>Agent 1042</name>
    <send>c3RyZWFtLWI=</send>
    <recv>c3RyZWFtLWE=</recv>
  </participant>
  <stream id="c3RyZWFtLWE=" session="bDBu9dQ3T5KP2Lm0x8zYcw==">
    <label>1</label>
    <mode>separate</mode>
  </stream>
  <stream id="c3RyZWFtLWI=" session="bDBu9dQ3T5KP2Lm0x8zYcw==">
    <label>2</label>
  </stream>
</recording>
"""


def test_a_complete_document_parses_to_its_session_participants_and_streams() -> None:
    md = RecordingMetadata.parse(COMPLETE.encode())
    assert md.data_mode == "complete"
    assert md.groups == {
        "7+OTCyoxTmqmqyA/1weDAg==": Group(
            id="7+OTCyoxTmqmqyA/1weDAg==", associate_time="2024-05-02T09:14:07Z"
        )
    }
    assert md.session == Session(
        id=SESSION,
        sip_session_ids=(
            "ab30317f1a784dc48ff824d0d3715d86;remote=47755a9de7794ba387653f2099600ef2",
        ),
        group_ref="7+OTCyoxTmqmqyA/1weDAg==",
    )
    assert md.participants == {
        ALICE: Participant(
            id=ALICE,
            name="Alice",
            aors=("sip:alice@atlanta.example.com",),
            send=(FROM_ALICE,),
            recv=(TO_ALICE,),
        ),
        BOB: Participant(
            id=BOB,
            name="Bob",
            aors=("sip:bob@biloxi.example.com", "tel:+15551234567"),
            send=(TO_ALICE,),
            recv=(FROM_ALICE,),
        ),
    }
    assert md.streams[FROM_ALICE] == Stream(id=FROM_ALICE, session_id=SESSION, label="1")
    assert md.session_recording_associations == (
        SessionRecordingAssoc(session_id=SESSION, associate_time="2024-05-02T09:14:07Z"),
    )
    assert md.participant_session_associations[1] == ParticipantSessionAssoc(
        participant_id=BOB, session_id=SESSION, associate_time="2024-05-02T09:14:07Z"
    )
    assert len(md.participant_stream_associations) == 2


def test_the_sender_on_each_sdp_label_is_found() -> None:
    md = RecordingMetadata.parse(COMPLETE)
    alice, bob = md.participant_for_label("1"), md.participant_for_label("2")
    assert (alice and alice.name, bob and bob.name) == ("Alice", "Bob")
    assert md.participant_for_label("3") is None


@pytest.mark.parametrize(
    "document", [COMPLETE, TRANSFER, SBC_STYLE], ids=["complete", "partial", "sbc"]
)
def test_documents_round_trip_through_the_rfc_form(document: str) -> None:
    md = RecordingMetadata.parse(document)
    text = md.serialize()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<recording xmlns="urn:ietf')
    assert RecordingMetadata.parse(text) == md
    assert RecordingMetadata.parse(text.encode()).serialize() == text
    assert " id=" not in text and "<aor>" not in text  # only the RFC 7865 spelling is written


def test_a_partial_update_alone_lists_who_joined_and_who_left() -> None:
    update = RecordingMetadata.parse(TRANSFER)
    assert update.data_mode == "partial" and update.sessions == {}
    carol, bob = update.participants[CAROL], update.participants[BOB]
    assert (carol.name, carol.send, carol.left) == ("Carol", (TO_ALICE,), False)
    assert (bob.name, bob.send, bob.left_at) == (None, (), "2024-05-02T09:20:31Z")


def test_merging_a_transfer_adds_carol_and_marks_bob_left() -> None:
    md = merge(RecordingMetadata.parse(COMPLETE), RecordingMetadata.parse(TRANSFER))
    assert md.data_mode == "complete"
    assert list(md.participants) == [ALICE, BOB, CAROL]
    alice, bob, carol = md.participants.values()
    assert (alice.left, alice.send, alice.recv) == (False, (FROM_ALICE,), (TO_ALICE,))
    assert (bob.name, bob.left_at, bob.send, bob.recv) == ("Bob", "2024-05-02T09:20:31Z", (), ())
    assert (carol.name, carol.aors, carol.left) == (
        "Carol",
        ("sip:carol@chicago.example.com",),
        False,
    )
    assert md.participant_for_label("2") == carol
    assert len(md.participant_stream_associations) == 4  # the history is kept
    assert RecordingMetadata.parse(md.serialize()) == md


def test_a_stream_can_be_relabelled_and_the_session_ended() -> None:
    base = RecordingMetadata.parse(COMPLETE)
    update = RecordingMetadata.parse(f"""<recording xmlns="urn:ietf:params:xml:ns:recording:1">
      <datamode>partial</datamode>
      <stream stream_id="{TO_ALICE}"><label>4</label></stream>
      <sessionrecordingassoc session_id="{SESSION}">
        <disassociate-time>2024-05-02T09:31:00Z</disassociate-time>
      </sessionrecordingassoc>
    </recording>""")
    md = merge(base, update)
    assert md.streams[TO_ALICE] == Stream(id=TO_ALICE, session_id=SESSION, label="4")
    bob = md.participant_for_label("4")
    assert bob is not None and bob.name == "Bob" and md.participant_for_label("2") is None
    assert md.session is not None and md.session.ended_at == "2024-05-02T09:31:00Z"
    assert md.session.group_ref == "7+OTCyoxTmqmqyA/1weDAg=="  # what the update left unsaid stays


def test_a_complete_update_replaces_what_we_knew() -> None:
    sbc = RecordingMetadata.parse(SBC_STYLE)
    assert merge(RecordingMetadata.parse(COMPLETE), sbc) == sbc


def test_an_src_without_session_associations_says_left_by_ending_streams() -> None:
    base = RecordingMetadata.parse(SBC_STYLE)
    caller = "cGFydGljaXBhbnQtMQ=="
    update = RecordingMetadata.parse(f"""<recording xmlns="urn:ietf:params:xml:ns:recording:1">
      <datamode>partial</datamode>
      <participantstreamassoc participant="{caller}">
        <send>c3RyZWFtLWE=</send><recv>c3RyZWFtLWI=</recv>
        <disassociate-time>2024-05-02T10:05:00Z</disassociate-time>
      </participantstreamassoc>
    </recording>""")
    md = merge(base, update)
    assert md.participants[caller].left_at == "2024-05-02T10:05:00Z"
    assert md.participant_for_label("1") is None


def test_the_sbc_spelling_is_read_as_the_rfc_one() -> None:
    md = RecordingMetadata.parse(SBC_STYLE)
    caller, agent = md.participants.values()
    assert (caller.id, caller.name) == ("cGFydGljaXBhbnQtMQ==", "+14155550100")
    assert caller.aors == ("sip:+14155550100@trunk.example.net", "tel:+14155550100")
    assert (agent.name, agent.aors) == ("Agent 1042", ("sip:agent1042@pbx.example.com",))
    assert (caller.send, caller.recv) == (("c3RyZWFtLWE=",), ("c3RyZWFtLWI=",))
    assert md.streams["c3RyZWFtLWE="].session_id == "bDBu9dQ3T5KP2Lm0x8zYcw=="
    assert md.participant_for_label("2") == agent
    assert md.session is not None and md.session.sip_session_ids == ("7f3d1a2b9c@10.20.30.40",)


def test_metadata_built_by_our_own_src_client_serializes_its_streams() -> None:
    # The demo SRC builds metadata from a call it knows, with no association objects at hand.
    built = RecordingMetadata(
        sessions={"s1": Session(id="s1", sip_session_ids=("call-1@demo",))},
        participants={
            "a": Participant(id="a", name="Ann", aors=("sip:ann@demo",), send=("x",), recv=("y",)),
            "b": Participant(id="b", aors=("sip:bo@demo",), send=("y",), recv=("x",)),
        },
        streams={"x": Stream(id="x", session_id="s1", label="1"), "y": Stream(id="y", label="2")},
    )
    text = built.serialize()
    assert '<participantstreamassoc participant_id="a">\n    <send>x</send>' in text
    parsed = RecordingMetadata.parse(text)
    assert parsed.participants == built.participants and parsed.streams == built.streams
    assert RecordingMetadata.parse(parsed.serialize()) == parsed


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE recording [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>&lol2;</datamode></recording>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE recording [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<recording xmlns="urn:ietf:params:xml:ns:recording:1"><session session_id="s">
<sipSessionID>&xxe;</sipSessionID></session></recording>"""
NS = 'xmlns="urn:ietf:params:xml:ns:recording:1"'
BAD_METADATA: dict[str, str | bytes] = {
    "not XML": "v=0\r\no=- 1 1 IN IP4 h\r\n",
    "empty": b"",
    "unclosed": f"<recording {NS}><participant participant_id='a'>",
    "entity expansion": BILLION_LAUGHS,
    "external entity": XXE,
    "bare DOCTYPE": f"<!DOCTYPE recording><recording {NS}/>",
    "no namespace": "<recording><datamode>complete</datamode></recording>",
    "other namespace": '<recording xmlns="urn:ietf:params:xml:ns:conference-info"/>',
    "wrong root": f"<conference-info {NS}/>",
    "participant without id": f"<recording {NS}><participant><aor>sip:a@b</aor></participant>"
    "</recording>",
    "stream with an empty id": f"<recording {NS}><stream stream_id=' '/></recording>",
    "association without participant": f"<recording {NS}><participantstreamassoc>"
    "<send>s</send></participantstreamassoc></recording>",
    "unknown datamode": f"<recording {NS}><datamode>sometimes</datamode></recording>",
    "unknown encoding": f'<?xml version="1.0" encoding="x-nope"?><recording {NS}/>'.encode(),
    "invalid UTF-8": f"<recording {NS}><datamode>".encode() + b"\xff\xfe</datamode></recording>",
    "over 1 MiB": f"<recording {NS}><!--{'x' * MAX_BYTES}--></recording>",
}


@pytest.mark.parametrize("document", BAD_METADATA.values(), ids=BAD_METADATA.keys())
def test_hostile_or_malformed_documents_raise_metadata_error(document: str | bytes) -> None:
    with pytest.raises(MetadataError):
        RecordingMetadata.parse(document)


def test_values_xml_cannot_carry_are_refused_on_serialize() -> None:
    with pytest.raises(MetadataError):
        RecordingMetadata(participants={"a": Participant(id="a", name="bell\x07")}).serialize()


# --- properties ----------------------------------------------------------------------------------

# XML text as it survives a parse: no control characters, surrogates or non-characters, and
# no surrounding whitespace (the parser strips it).
_VALUE = (
    st.text(st.characters(exclude_categories=["Cc", "Cs", "Cn"]), min_size=1, max_size=10)
    .map(str.strip)
    .filter(bool)
)
_ID = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=1, max_size=6
)
_TIME = st.none() | st.sampled_from(["2024-05-02T09:14:07Z", "2024-05-02T09:20:31.250+02:00"])


@st.composite
def _documents(draw: st.DrawFn) -> RecordingMetadata:
    people, streams, sessions = (draw(st.lists(_ID, max_size=4, unique=True)) for _ in range(3))
    ids = st.lists(st.sampled_from(streams), max_size=2, unique=True) if streams else st.just([])
    return RecordingMetadata(
        data_mode=draw(st.sampled_from(["complete", "partial"])),
        groups={
            g: Group(id=g, associate_time=draw(_TIME)) for g in draw(st.lists(_ID, max_size=2))
        },
        sessions={
            s: Session(
                id=s,
                sip_session_ids=tuple(draw(st.lists(_VALUE, max_size=2))),
                group_ref=draw(st.none() | _ID),
            )
            for s in sessions
        },
        participants={
            p: Participant(
                id=p,
                name=draw(st.none() | _VALUE),
                aors=tuple(draw(st.lists(_VALUE, max_size=2))),
                send=tuple(draw(ids)),
                recv=tuple(draw(ids)),
            )
            for p in people
        },
        streams={
            s: Stream(id=s, session_id=draw(st.none() | _ID), label=draw(st.none() | _VALUE))
            for s in streams
        },
        session_recording_associations=tuple(
            SessionRecordingAssoc(
                session_id=s, associate_time=draw(_TIME), disassociate_time=draw(_TIME)
            )
            for s in sessions
        ),
        participant_session_associations=tuple(
            ParticipantSessionAssoc(
                participant_id=p, session_id=draw(st.none() | _ID), disassociate_time=draw(_TIME)
            )
            for p in people
        ),
        participant_stream_associations=tuple(
            ParticipantStreamAssoc(
                participant_id=draw(st.sampled_from(people)),
                send=tuple(draw(ids)),
                recv=tuple(draw(ids)),
                disassociate_time=draw(_TIME),
            )
            for _ in range(draw(st.integers(0, 3)))
            if people
        ),
    )


@settings(max_examples=100, deadline=None)
@given(_documents())
def test_generated_metadata_round_trips(built: RecordingMetadata) -> None:
    # A hand-built document's send/recv may be explained by no association; once written and
    # read back, they are, and from then on the round trip is exact.
    md = RecordingMetadata.parse(built.serialize())
    assert {p: (v.name, v.aors) for p, v in md.participants.items()} == {
        p: (v.name, v.aors) for p, v in built.participants.items()
    }
    assert (md.streams, md.groups) == (built.streams, built.groups)
    assert RecordingMetadata.parse(md.serialize()) == md
    assert merge(md, md) == merge(md, RecordingMetadata.parse(md.serialize()))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary(), st.text(alphabet="<>/=\"' recodingatsm:xln!-&;[]")))
def test_arbitrary_input_raises_only_metadata_error(data: str | bytes) -> None:
    with contextlib.suppress(MetadataError):
        RecordingMetadata.parse(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([COMPLETE, TRANSFER, SBC_STYLE]), st.data())
def test_mutated_documents_raise_only_metadata_error(document: str, data: st.DataObject) -> None:
    text = document
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 12))
        text = (
            text[:at]
            + data.draw(st.text(max_size=6) | st.sampled_from(["<", "&", '"']))
            + text[at + cut :]
        )
    with contextlib.suppress(MetadataError):
        md = RecordingMetadata.parse(text)
        md.participant_for_label("1")
        assert RecordingMetadata.parse(md.serialize()) == md
