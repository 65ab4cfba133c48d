"""Descriptions keep no names, identifiers or dates (cases A07 and A17).

Each case builds its input on a real pydicom-data file, writes it, anonymizes
what is read back and checks the bytes written.
"""

from __future__ import annotations

import pytest
from pydicom import Dataset

from claripacs_jupyter.anonymize.descriptors import (
    Identifiers,
    clean_descriptor,
    identifiers_of,
    scrub_identifiers,
)
from claripacs_jupyter.anonymize.teaching import SUSPICIOUS_DESCRIPTOR
from tests.anonymize.conftest import anonymized_bytes, from_bytes, real_file, to_bytes

DOE = Identifiers(names=("DOE", "JOHN"), ids=("10234567", "PAT0042", "XK-99-QZ"))


def _ct(**elements: object) -> Dataset:
    ds = real_file("CT_small.dcm")
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


class TestCleanDescriptor:
    @pytest.mark.parametrize(
        ("text", "kept", "removed"),
        [
            ("CT CHEST 10234567", "CT CHEST", ("identifier",)),
            ("DOE JOHN 3D 03/14/2021", "3D", ("name", "date")),
            ("Doe^John chest", "chest", ("name",)),
            ("john doe, abdomen", "abdomen", ("name",)),
            ("CT ABD 2021-03-14 (DOE)", "CT ABD", ("name", "date")),
            ("MR BRAIN 14 Mar 2021", "MR BRAIN", ("date",)),
            ("MR BRAIN March 14, 2021", "MR BRAIN", ("date",)),
            ("HEAD 20210314", "HEAD", ("date",)),
            ("pat0042 knee", "knee", ("identifier",)),
            # an identifier written with other separators, or none
            ("PAT-0042 knee", "knee", ("identifier",)),
            ("XK99QZ chest", "chest", ("identifier",)),
            ("chest xk.99.qz", "chest", ("identifier",)),
            # an identifier that says it is one, whoever it belongs to
            ("mrn:FAKEABCDx brain", "brain", ("identifier",)),
            ("MRN 5550123 knee", "knee", ("identifier",)),
            ("HAND acc# A77 L", "HAND L", ("identifier",)),
            ("Patient ID: Q5 wrist", "wrist", ("identifier",)),
            # a date between underscores, and dates written with a month
            ("CT_20200110_head", "CT head", ("date",)),
            ("CT 14MAR2021", "CT", ("date",)),
            ("CT 2021-Mar-14", "CT", ("date",)),
            ("CT 14th March 2021", "CT", ("date",)),
            ("CT 14. März 2021", "CT", ("date",)),
            ("CT 2021年3月14日", "CT", ("date",)),
            # other labels, and the ID in groups
            ("Pt ID: X4471 knee", "knee", ("identifier",)),
            ("ID#4471 knee", "knee", ("identifier",)),
            ("Hosp# 99812 knee", "knee", ("identifier",)),
            ("Acc. no. 4471 knee", "knee", ("identifier",)),
            ("CT 102-345-67 HEAD", "CT HEAD", ("identifier",)),
            # separators next to a cut go; the description's own stay
            ("CT HEAD W/O 03/14/2021", "CT HEAD W/O", ("date",)),
            ("ep2d_diff_trace 2021-03-14", "ep2d_diff_trace", ("date",)),
        ],
    )
    def test_names_identifiers_and_dates_are_cut_out(
        self, text: str, kept: str, removed: tuple[str, ...]
    ) -> None:
        cleaned = clean_descriptor(text, DOE)

        assert cleaned.text == kept
        assert cleaned.removed == removed
        assert not cleaned.suspicious

    @pytest.mark.parametrize(
        "text",
        [
            "T1 AX POST GD",
            "JOHNSON KNEE",
            "AX T2 FLAIR 3MM",
            "CT C-A-P 5.0",
            "PIDGEON TOE",
            "MR BRAIN",
            "ACCESSORY NAVICULAR",
            "SAG T1_FS",
            # labels without an identifier after them
            "PID PELVIS",
            "Patient ID check",
            "ID: T1 SAG",
            "MRN PENDING",
            "MR #2 BRAIN W/WO",
            "ACC: CT ABD",
            # numbers shaped like a date that cannot be one
            "LIVER 25-45-70 SEC",
            "DELAYS 30/60/90",
            "VNC 40/50/60 keV",
        ],
    )
    def test_ordinary_descriptions_are_left_as_they_are(self, text: str) -> None:
        cleaned = clean_descriptor(text, DOE)

        assert cleaned.text == text
        assert cleaned.removed == ()
        assert not cleaned.suspicious

    def test_a_long_number_nobody_named_is_suspicious(self) -> None:
        cleaned = clean_descriptor("SERIES 9876543", DOE)

        assert cleaned.text == "SERIES 9876543"
        assert cleaned.suspicious

    def test_names_in_unspaced_scripts_are_found_inside_words(self) -> None:
        japanese = Identifiers(names=("山田", "太郎"))

        assert clean_descriptor("CT 山田太郎胸部", japanese).text == "CT 胸部"

    def test_short_parts_and_ids_are_not_looked_for(self) -> None:
        found = identifiers_of(
            _ct(PatientName="LI^JO^MARIA", PatientID="12", AccessionNumber="A123")
        )

        assert "MARIA" in found.names and "A123" in found.ids
        assert "LI" not in found.names and "JO" not in found.names
        assert "12" not in found.ids


class TestCaseA07:
    def test_descriptions_lose_the_accession_the_name_and_the_date(self) -> None:
        ds = _ct(
            PatientName="DOE^JOHN",
            AccessionNumber="10234567",
            StudyDescription="CT CHEST 10234567",
            SeriesDescription="DOE JOHN 3D 03/14/2021",
        )
        data_in = to_bytes(ds)

        result, data = anonymized_bytes(data_in)
        out = from_bytes(data)

        assert b"10234567" in data_in and b"DOE" in data_in
        assert out.StudyDescription == "CT CHEST"
        assert out.SeriesDescription == "3D"
        for leaked in (b"10234567", b"DOE", b"JOHN", b"03/14/2021", b"2021"):
            assert leaked not in data
        assert SUSPICIOUS_DESCRIPTOR not in result.review_reasons

    def test_the_name_is_found_in_any_order_and_case(self) -> None:
        ds = _ct(PatientName="DOE^JOHN", SeriesDescription="Chest john Doe late")

        _, data = anonymized_bytes(to_bytes(ds))

        assert from_bytes(data).SeriesDescription == "Chest late"
        assert b"john" not in data.lower() and b"doe" not in data.lower()

    def test_a_long_unexplained_number_holds_the_case_for_review(self) -> None:
        ds = _ct(PatientName="DOE^JOHN", StudyDescription="CT HEAD 55512345")

        result, data = anonymized_bytes(to_bytes(ds))
        out = from_bytes(data)

        assert SUSPICIOUS_DESCRIPTOR in result.review_reasons
        assert "PatientIdentityRemoved" not in out
        assert out.StudyDescription == "CT HEAD 55512345"

    def test_a_plain_description_is_copied_untouched(self) -> None:
        ds = _ct(StudyDescription="CT CHEST W CONTRAST")

        result, data = anonymized_bytes(to_bytes(ds))

        assert from_bytes(data).StudyDescription == "CT CHEST W CONTRAST"
        assert result.review_reasons == []
        assert from_bytes(data).PatientIdentityRemoved == "YES"


class TestCaseA17:
    def test_a_cyrillic_description_keeps_its_character_set_and_loses_the_name(
        self,
    ) -> None:
        ds = _ct(
            SpecificCharacterSet="ISO_IR 192",
            PatientName="Иванов^Иван",
            StudyDescription="КТ грудной клетки Иванов",
            SeriesDescription="Аксиальные 5 мм",
        )
        data_in = to_bytes(ds)

        _, data = anonymized_bytes(data_in)
        out = from_bytes(data)

        assert "Иванов".encode() in data_in
        assert out.SpecificCharacterSet == "ISO_IR 192"
        assert out.StudyDescription == "КТ грудной клетки"
        assert out.SeriesDescription == "Аксиальные 5 мм"
        assert "Иванов".encode() not in data and "Иван".encode() not in data

    def test_a_japanese_description_in_iso_2022_round_trips_without_the_name(
        self,
    ) -> None:
        ds = _ct(
            SpecificCharacterSet=["", "ISO 2022 IR 87"],
            PatientName="Yamada^Tarou=山田^太郎",
            StudyDescription="CT 山田 胸部",
            SeriesDescription="胸部 単純",
        )
        data_in = to_bytes(ds)

        _, data = anonymized_bytes(data_in)
        out = from_bytes(data)

        # the JIS X 0208 bytes of 山田, between the escape sequences
        yamada = "山田".encode("iso2022_jp")[3:-3]
        assert yamada in data_in
        assert out.SpecificCharacterSet == ["", "ISO 2022 IR 87"]
        assert out.StudyDescription == "CT 胸部"
        assert out.SeriesDescription == "胸部 単純"
        assert yamada not in data
        assert b"Yamada" not in data and b"YAMADA" not in data.upper()


class TestNameSpellings:
    @pytest.mark.parametrize(
        ("name", "text", "kept"),
        [
            ("Fakesmith-Fakejones^Ann", "FAKEJONES HEAD", "HEAD"),  # half a name
            ("O'Fakebrien^Sean", "OFAKEBRIEN CHEST", "CHEST"),  # no apostrophe
            ("O'Fakebrien^Sean", "FAKEBRIEN CHEST", "CHEST"),
            ("Füksel^Jörg", "FUKSEL HEAD", "HEAD"),  # without accents
            ("Füksel^Jörg", "FUEKSEL HEAD", "HEAD"),  # umlaut spelt out
            ("Fakeperson^Testa", "FAKEPERSONTESTA CT", "CT"),  # run together
            ("Li^Wu", "LI WU BRAIN", "BRAIN"),  # two short names, as a pair
            ("Li^Wu", "WU, LI BRAIN", "BRAIN"),
            ("김^민준", "김민준 뇌", "뇌"),  # a Korean name, written whole
            ("Fakeperson^Testa Maria", "FAKEPERSONTESTA CT", "CT"),  # middle name
            ("Fakeperson, Testa", "FAKEPERSONTESTA CT", "CT"),  # comma, no caret
            ("Li^Wu", "WU/LI BRAIN", "BRAIN"),
            ("Li^Wu", "LI+WU BRAIN", "BRAIN"),
            ("Fuksel^Jorg", "FÜKSEL HEAD", "HEAD"),  # the accent only in the text
            ("Füksel^Jörg", "FU\u0308KSEL HEAD", "HEAD"),  # a combining accent
            ("Fakeperson^Testa", "FAKEPERSON2 CT", "2 CT"),  # a number after it
            ("St.Fakejohn^Mary", "FAKEJOHN CT", "CT"),  # split at the dot
            ("O'Fakebrien^Sean", "O\u2019FAKEBRIEN CHEST", "CHEST"),  # curly
        ],
    )
    def test_a_name_is_found_in_the_spellings_people_use(
        self, name: str, text: str, kept: str
    ) -> None:
        ids = identifiers_of(_ct(PatientName=name, PatientID="", StudyID=""))

        cleaned = clean_descriptor(text, ids)

        assert (cleaned.text, cleaned.removed) == (kept, ("name",))

    def test_a_short_name_alone_is_not_looked_for(self) -> None:
        ids = identifiers_of(_ct(PatientName="Li^Wu", PatientID="", StudyID=""))

        assert clean_descriptor("LI BRAIN", ids).text == "LI BRAIN"


class TestShortNumbers:
    @pytest.mark.parametrize(
        ("study_id", "text"),
        [
            ("125", "AX 1.25 mm"),
            ("512", "SE 512 x 512"),
            ("512", "FIESTA_512"),
            ("0625", "CT 0.625 mm"),
        ],
    )
    def test_a_short_numeric_id_leaves_measurements_alone(
        self, study_id: str, text: str
    ) -> None:
        ids = identifiers_of(_ct(StudyID=study_id))

        assert clean_descriptor(text, ids).text == text

    def test_a_short_patient_id_is_still_cut(self) -> None:
        ids = identifiers_of(_ct(PatientID="4471", StudyID="512"))

        assert clean_descriptor("CT 4471 SE 512 x 512", ids).text == "CT SE 512 x 512"


def test_a_procedure_code_of_letters_is_no_identifier() -> None:
    ids = identifiers_of(
        _ct(RequestedProcedureID="CHEST", ScheduledProcedureStepID="HEAD")
    )

    assert clean_descriptor("CT CHEST HEAD W/O", ids).text == "CT CHEST HEAD W/O"


def test_other_kept_text_loses_dates_with_a_year_but_not_versions() -> None:
    ids = identifiers_of(_ct(PatientName="Fakeperson^Testa"))

    cut = scrub_identifiers("FAKEPERSON 03/14/2021 MRN: X4471 WW", ids)
    version = scrub_identifiers("syngo 1.5.10", ids)

    assert (cut.text, cut.removed) == ("WW", ("name", "identifier", "date"))
    assert version.text == "syngo 1.5.10"
