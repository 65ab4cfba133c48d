"""Fixtures for the widget tests: a store with real CT cases, a recording comm."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from pydicom.data import get_testdata_file

from claripacs_jupyter import open_store
from claripacs_jupyter.store import Store

from .ct_series import write_ct_series

SLICES = 4


@dataclass
class Sent:
    """One message the kernel put on the wire to the browser."""

    msg_type: str
    data: dict[str, Any]
    buffers: list[bytes]

    @property
    def size(self) -> int:
        """Bytes of the message: its JSON part and its binary buffers."""
        return len(json.dumps(self.data).encode()) + sum(len(b) for b in self.buffers)


@dataclass
class Wire:
    """What went over every widget comm opened while the fixture was active."""

    comms: list[RecordingComm] = field(default_factory=list)

    @property
    def sent(self) -> list[Sent]:
        return [message for c in self.comms for message in c.sent]

    def custom(self) -> list[tuple[dict[str, Any], list[bytes]]]:
        """The custom messages (content, buffers) sent to the browser."""
        return [
            (m.data["content"], m.buffers)
            for m in self.sent
            if m.msg_type == "comm_msg" and m.data.get("method") == "custom"
        ]

    def clear(self) -> None:
        for c in self.comms:
            c.sent.clear()


class RecordingComm(BaseComm):
    """A comm that keeps what it publishes instead of writing to a kernel socket.

    The widget code runs unchanged down to `publish_msg`, the point where a
    kernel's comm writes to its socket; JSON encoding is checked here as the
    kernel would do it.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[Sent] = []
        super().__init__(**kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[Any] | None = None,
        **keys: Any,
    ) -> None:
        json.dumps(data)  # what the kernel would fail on
        self.sent.append(
            Sent(msg_type, data or {}, [bytes(memoryview(b)) for b in buffers or []])
        )

    def from_browser(self, content: dict[str, Any]) -> None:
        """Deliver a custom message from the browser, as a kernel would."""
        self.handle_msg(
            {
                "content": {
                    "comm_id": self.comm_id,
                    "data": {"method": "custom", "content": content},
                },
                "buffers": [],
            }
        )


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    """Record the messages of every widget created in the test."""
    recorded = Wire()

    def create(**kwargs: Any) -> RecordingComm:
        opened = RecordingComm(**kwargs)
        recorded.comms.append(opened)
        return opened

    monkeypatch.setattr(comm, "create_comm", create)
    yield recorded


@dataclass
class CtStore:
    """A store holding a multi-slice CT case and a single 512x512 CT case."""

    store: Store
    series_accession: str
    large_accession: str


@pytest.fixture(scope="module")
def ct_store(tmp_path_factory: pytest.TempPathFactory) -> CtStore:
    """A store with `SLICES` slices of CT_small.dcm and one 693_UNCR.dcm."""
    base = tmp_path_factory.mktemp("widgets")
    store = open_store(base / "store")
    series = store.ingest(write_ct_series(base / "series", count=SLICES))
    large = store.ingest([Path(get_testdata_file("693_UNCR.dcm"))])
    assert series.stored == SLICES and large.stored == 1
    return CtStore(store, series.accessions[0], large.accessions[0])
