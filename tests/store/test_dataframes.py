"""DataFrames of cases, series and instances: one row per item, sensible dtypes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from claripacs_jupyter.errors import NotFoundError
from claripacs_jupyter.store import Store

from .builders import make_series, sample


@pytest.fixture
def two_cases(store: Store, tmp_path: Path) -> tuple[str, str]:
    make_series(tmp_path / "ct", 3, numbers=[3, 1, 2], positions=[0.0, -5.0, 5.0])
    ct = store.ingest([tmp_path / "ct"], folder="Chest").accessions[0]
    mr = store.ingest([sample("emri_small.dcm")], folder="Neuro").accessions[0]
    return ct, mr


def test_cases_frame_has_one_row_per_case_with_counts(
    store: Store, two_cases: tuple[str, str]
) -> None:
    ct, mr = two_cases

    frame = store.cases_frame()

    assert len(frame) == 2
    rows = frame.set_index("accession")
    assert rows.loc[ct, "instance_count"] == 3
    assert rows.loc[mr, "frame_count"] == 10
    assert rows.loc[mr, "modalities"] == ["MR"]
    assert rows.loc[ct, "folder"] == "Chest"
    assert frame["created"].dtype == "datetime64[ns, UTC]"
    assert frame["private"].dtype == bool
    assert frame["instance_count"].dtype == "int64"
    assert frame["accession"].dtype == "string"


def test_series_frame_of_one_case(store: Store, two_cases: tuple[str, str]) -> None:
    ct, _ = two_cases

    frame = store.series_frame(ct)

    assert list(frame["accession"]) == [ct]
    assert frame.loc[0, "instance_count"] == 3
    assert frame["number"].dtype == "Int64"
    assert len(store.series_frame()) == 2


def test_instances_frame_is_in_display_order_with_paths(
    store: Store, two_cases: tuple[str, str]
) -> None:
    ct, _ = two_cases

    frame = store.instances_frame(ct)

    assert list(frame["position"]) == [-5.0, 0.0, 5.0]
    assert list(frame["number"]) == [1, 3, 2]
    assert list(frame["sort_key"]) == [0, 1, 2]
    assert all(Path(path).is_file() for path in frame["path"])
    assert frame["position"].dtype == "float64"
    assert len(store.instances_frame()) == 4


def test_frames_of_an_empty_store_have_their_columns(store: Store) -> None:
    frames = [store.cases_frame(), store.series_frame(), store.instances_frame()]

    assert all(isinstance(frame, pd.DataFrame) and frame.empty for frame in frames)
    assert "accession" in frames[0].columns and "sop_uid" in frames[2].columns
    assert frames[0]["created"].dtype == "datetime64[ns, UTC]"


def test_frames_of_an_unknown_case_are_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.instances_frame("ABCDEFGH")
