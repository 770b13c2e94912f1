"""The S3 client parses listing times itself (dateutil cost 0.2 s of CPU per page of 1,000
keys in a cold ``show``) and must mean exactly what botocore's parser means."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.utils import parse_timestamp as botocore_parse

from artcli.store import open_store, s3_client
from artcli.store.s3_client import parse_timestamp

SAMPLES: list[Any] = ["2026-11-30T12:32:00.000Z", "2026-11-30T12:32:00Z", "2026-11-30T12:32:00.123456+02:00",
                      "Mon, 30 Nov 2026 12:32:00 GMT", 1764505920, "1764505920", "0001-01-01T00:00:00Z",
                      "2026-02-28T23:59:59.999Z"]


@pytest.mark.parametrize("value", SAMPLES)
def test_times_mean_what_botocore_says(value: Any) -> None:
    ours, theirs = parse_timestamp(value), botocore_parse(value)
    assert ours == theirs and ours.utcoffset() == theirs.utcoffset()


def test_a_listing_is_parsed_with_it(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def spy(value: Any) -> Any:
        seen.append(value)
        return parse_timestamp(value)

    monkeypatch.setattr(s3_client, "parse_timestamp", spy)
    store = open_store(f"s3://{s3_bucket}/t")
    store.put("a/b.json", b"{}")
    listed = list(store.list("a/"))
    assert [i.key for i in listed] == ["a/b.json"] and seen  # the listing's time came through it
    head = store.info("a/b.json")
    assert listed[0].mtime is not None and head.mtime is not None and int(listed[0].mtime) == int(head.mtime)
