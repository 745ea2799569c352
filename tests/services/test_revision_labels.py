"""Revision labels: A … Y skipping I O Q S X Z, then AA; numbers with REVISION_SCHEME=numeric; never a repeat."""

from __future__ import annotations

import itertools

import pytest

from app.core.errors import BadRequest
from app.services.revision_labels import label_for, seq_of, seq_of_any


def test_the_letter_sequence_skips_letters_that_read_as_digits() -> None:
    first = [label_for(n, "letters") for n in range(1, 23)]
    assert first == [*list("ABCDEFGHJKLMNPRTUVWY"), "AA", "AB"]
    assert label_for(19, "letters") == "W" and label_for(20, "letters") == "Y"
    # After the last single letter (Y: Z is skipped too) comes AA, and the doubles run to YY before AAA.
    assert label_for(21, "letters") == "AA"
    assert label_for(40, "letters") == "AY" and label_for(41, "letters") == "BA"
    assert label_for(420, "letters") == "YY" and label_for(421, "letters") == "AAA"


def test_labels_never_repeat_never_skip_back_and_read_back() -> None:
    labels = [label_for(n, "letters") for n in range(1, 20_000)]
    assert len(set(labels)) == len(labels)
    assert not any(set(label) & set("IOQSXZ") for label in labels)
    assert all(seq_of(label, "letters") == n for n, label in enumerate(labels, start=1))
    assert all(len(a) < len(b) or (len(a) == len(b) and a < b) for a, b in itertools.pairwise(labels))


def test_numeric_scheme() -> None:
    assert [label_for(n, "numeric") for n in (1, 2, 3, 10)] == ["1", "2", "3", "10"]
    assert seq_of("12", "numeric") == 12
    assert seq_of_any("12") == 12 and seq_of_any("AA") == 21


@pytest.mark.parametrize(
    ("label", "scheme", "says"),
    [
        ("I", "letters", "never used"),
        ("AZ", "letters", "never used"),
        ("O", "letters", "never used"),
        ("A1", "letters", "not a revision label"),
        ("", "letters", "not a revision label"),
        ("A", "numeric", "numeric"),
        ("0", "numeric", "numeric"),
        ("01", "numeric", "numeric"),
    ],
)
def test_labels_a_scheme_never_gives_are_refused(label: str, scheme: str, says: str) -> None:
    with pytest.raises(BadRequest) as refused:
        seq_of(label, scheme)  # type: ignore[arg-type]
    assert says in str(refused.value.detail)


def test_lower_case_is_read_as_upper_case() -> None:
    assert seq_of("b", "letters") == 2
