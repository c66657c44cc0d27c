from __future__ import annotations

from callrec.kit.ids import hash_secret, new_id, new_secret


def test_new_ids_are_version_7_and_time_ordered() -> None:
    ids = [new_id() for _ in range(200)]
    assert all(i.version == 7 for i in ids)
    assert all(i.variant == "specified in RFC 4122" for i in ids)
    millis = [i.int >> 80 for i in ids]
    assert millis == sorted(millis)
    assert len(set(ids)) == len(ids)


def test_secrets_carry_their_prefix_and_hash_stably() -> None:
    secret = new_secret("crt")
    assert secret.startswith("crt_") and len(secret) > 40
    assert hash_secret(secret) == hash_secret(secret) != hash_secret(new_secret("crt"))
