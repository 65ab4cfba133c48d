"""The Basic profile's table and the options' data (annex_e_options.toml)."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest
from pydicom.datadict import keyword_for_tag, tag_for_keyword

from claripacs_jupyter.anonymize.annex_e import (
    BASIC_CODE,
    OPTIONS,
    Op,
    basic_rules,
    basic_table,
)
from claripacs_jupyter.anonymize.profiles import TEACHING, Action, iter_rules
from claripacs_jupyter.anonymize.teaching import TEACHING_CODES


def _options_file() -> dict:
    text = (
        resources.files("claripacs_jupyter.anonymize")
        .joinpath("annex_e_options.toml")
        .read_text()
    )
    return tomllib.loads(text)


def _op(keyword: str, *options: str) -> Op:
    return basic_rules(frozenset(options)).ops[int(tag_for_keyword(keyword))]


def test_the_basic_table_holds_the_rows_everyone_knows() -> None:
    table = basic_table()

    assert len(table) > 600
    assert table[0x00100010] is Op.EMPTY  # Patient's Name: Z
    assert table[0x00100020] is Op.DUMMY  # Patient ID: Z/D
    assert table[0x00080050] is Op.EMPTY  # Accession Number: Z
    assert table[0x00101010] is Op.REMOVE  # Patient's Age: X
    assert table[0x0020000D] is Op.UID  # Study Instance UID: U
    assert table[0x00080080] is Op.DUMMY  # Institution Name: X/Z/D
    assert table[0x00081140] is Op.UID  # Referenced Image Sequence: X/Z/U*
    assert 0x00280010 not in table  # Rows: kept


def test_every_keyword_of_the_options_file_is_acted_on_by_the_basic_profile() -> None:
    table = basic_table()

    for name, entry in _options_file().items():
        for kind in ("keep", "clean", "age"):
            for keyword in entry.get(kind, []):
                tag = tag_for_keyword(keyword)
                assert tag is not None, f"{name}: {keyword} is not a keyword"
                assert int(tag) in table, f"{name}: {keyword} is a no-op"


def test_every_option_has_its_cid_7050_code() -> None:
    codes = {name: entry["code"] for name, entry in _options_file().items()}

    assert codes == {
        "retain-longitudinal-full-dates": "113106",
        "retain-longitudinal-modified-dates": "113107",
        "retain-patient-characteristics": "113108",
        "retain-device-identity": "113109",
        "retain-uids": "113110",
        "retain-safe-private": "113111",
        "retain-institution-identity": "113112",
        "clean-descriptors": "113105",
    }
    assert set(OPTIONS) == set(codes)


@pytest.mark.parametrize(
    ("keyword", "option", "before", "after"),
    [
        ("StudyDate", "retain-longitudinal-full-dates", Op.EMPTY, Op.RETAIN),
        ("StudyTime", "retain-longitudinal-full-dates", Op.EMPTY, Op.RETAIN),
        ("AcquisitionDateTime", "retain-longitudinal-full-dates", Op.DUMMY, Op.RETAIN),
        ("StudyDate", "retain-longitudinal-modified-dates", Op.EMPTY, Op.SHIFT),
        ("SeriesTime", "retain-longitudinal-modified-dates", Op.DUMMY, Op.RETAIN),
        ("PatientAge", "retain-patient-characteristics", Op.REMOVE, Op.AGE),
        ("PatientSex", "retain-patient-characteristics", Op.EMPTY, Op.RETAIN),
        ("PatientWeight", "retain-patient-characteristics", Op.REMOVE, Op.RETAIN),
        ("Allergies", "retain-patient-characteristics", Op.REMOVE, Op.CLEAN),
        ("DeviceSerialNumber", "retain-device-identity", Op.DUMMY, Op.RETAIN),
        ("StationName", "retain-device-identity", Op.DUMMY, Op.RETAIN),
        ("StudyInstanceUID", "retain-uids", Op.UID, Op.RETAIN),
        ("ReferencedSOPInstanceUID", "retain-uids", Op.UID, Op.RETAIN),
        ("InstitutionName", "retain-institution-identity", Op.DUMMY, Op.RETAIN),
        ("InstitutionAddress", "retain-institution-identity", Op.REMOVE, Op.RETAIN),
        ("StudyDescription", "clean-descriptors", Op.REMOVE, Op.CLEAN),
        ("ImageComments", "clean-descriptors", Op.REMOVE, Op.CLEAN),
        ("ProtocolName", "clean-descriptors", Op.DUMMY, Op.CLEAN),
    ],
)
def test_an_option_changes_the_action_it_names(
    keyword: str, option: str, before: Op, after: Op
) -> None:
    assert _op(keyword) is before

    assert _op(keyword, option) is after


def test_birth_dates_are_neither_kept_nor_shifted_by_a_longitudinal_option() -> None:
    for option in (
        "retain-longitudinal-full-dates",
        "retain-longitudinal-modified-dates",
    ):
        assert _op("PatientBirthDate", option) is Op.EMPTY


def test_an_option_leaves_what_it_does_not_name() -> None:
    for option in OPTIONS:
        rules = basic_rules(frozenset([option]))
        assert rules.ops[0x00100010] is Op.EMPTY, option  # Patient's Name
        if option != "retain-uids":
            assert rules.ops[0x0020000D] is Op.UID, option


def test_the_codes_and_the_longitudinal_state_follow_the_options() -> None:
    plain = basic_rules()
    full = basic_rules(frozenset({"retain-longitudinal-full-dates", "retain-uids"}))
    modified = basic_rules(frozenset({"retain-longitudinal-modified-dates"}))

    assert plain.codes == (BASIC_CODE,)
    assert plain.longitudinal == "REMOVED"
    assert [code for code, _ in full.codes] == ["113100", "113106", "113110"]
    assert full.longitudinal == "UNMODIFIED"
    assert modified.longitudinal == "MODIFIED"
    assert modified.shifts_dates and not full.shifts_dates


def test_both_longitudinal_options_or_an_unknown_one_are_refused() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        basic_rules(
            frozenset(
                {"retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"}
            )
        )
    with pytest.raises(ValueError, match="unknown option retain-everything"):
        basic_rules(frozenset({"retain-everything"}))


def test_the_teaching_profile_does_what_its_claimed_options_allow() -> None:
    """The teaching whitelist records 113100 with two options: it must be true.

    Every attribute the teaching profile keeps and the Basic profile (with the
    claimed options) acts upon must be treated at least as strictly.
    """
    codes = {code for code, _ in TEACHING_CODES}
    claimed = {n for n, e in _options_file().items() if e["code"] in codes}
    rules = basic_rules(frozenset(claimed)).ops
    # what each teaching action may stand for
    allowed = {
        Action.EMPTY: {Op.EMPTY, Op.DUMMY, Op.REMOVE},
        Action.REMAP_UID: {Op.UID},
        Action.SEQUENCE: {Op.UID, Op.CLEAN, Op.DUMMY},
        Action.DESCRIPTOR: {Op.CLEAN},
        Action.AGE: {Op.AGE},
        Action.SEX: {Op.RETAIN},
        Action.ACCESSION: {Op.EMPTY},  # the store's own, not the original
    }

    assert claimed == {"clean-descriptors", "retain-patient-characteristics"}
    for _, rule in iter_rules(TEACHING):
        op = rules.get(rule.tag)
        if op is None or op is Op.RETAIN:
            continue
        assert op in allowed.get(rule.action, set()), (
            f"{keyword_for_tag(rule.tag)}: teaching {rule.action.name}, basic {op}"
        )
