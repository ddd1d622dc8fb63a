"""Keyset pages: every row once, in order, both ways, whatever the ties; one statement a page."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from cis.core.errors import ValidationFailed
from cis.core.pagination import KeysetPage, keyset_page, limit_of
from cis.people.models import Person
from tests.factories.directory import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> list[Person]:
    # Many ties on the leading column, so the tie-breakers decide most page boundaries.
    names = ["Ahmed", "Brown", "Brown", "Brown", "Chen", "Brown", "Evans", "Ahmed", "Brown"]
    made = []
    for n, family in enumerate(names * 3):
        made.append(
            PersonFactory(
                family_name=family,
                given_name=["Ann", "Bea", "Cal"][n % 3],
                date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=n % 4),
            )
        )
    return made


def _walk(order: list[str], limit: int) -> list[KeysetPage[Person]]:
    rows = Person.objects.all()
    pages = [keyset_page(rows, order=order, limit=limit)]
    while pages[-1].next_cursor:
        pages.append(keyset_page(rows, order=order, cursor=pages[-1].next_cursor, limit=limit))
    return pages


@pytest.mark.parametrize(
    "order",
    [["family_name", "given_name"], ["-family_name", "given_name"], ["-date_of_birth"], ["pk"]],
)
@pytest.mark.parametrize("limit", [1, 4, 7, 27, 50])
def test_pages_hold_every_row_once_in_order(
    people: list[Person], order: list[str], limit: int
) -> None:
    expected = list(Person.objects.order_by(*order, "pk"))
    pages = _walk(order, limit)
    assert [p for page in pages for p in page.results] == expected
    assert all(len(page.results) == limit for page in pages[:-1])
    assert pages[0].previous_cursor is None
    assert pages[-1].next_cursor is None


def test_previous_goes_back_page_by_page(people: list[Person]) -> None:
    order = ["family_name", "given_name"]
    pages = _walk(order, 4)
    for before, page in zip(pages, pages[1:], strict=False):
        assert page.previous_cursor
        back = keyset_page(Person.objects.all(), order=order, cursor=page.previous_cursor, limit=4)
        assert back.results == before.results
        assert back.next_cursor  # and forward again from there
    first_again = keyset_page(
        Person.objects.all(), order=order, cursor=pages[1].previous_cursor, limit=4
    )
    assert first_again.previous_cursor is None


def test_the_queryset_order_is_used_when_none_is_given(people: list[Person]) -> None:
    rows = Person.objects.order_by("-family_name", "given_name")
    page = keyset_page(rows, limit=5)
    assert page.results == list(rows.order_by("-family_name", "given_name", "pk")[:5])
    after = keyset_page(rows, cursor=page.next_cursor, limit=5)
    assert after.results == list(rows.order_by("-family_name", "given_name", "pk")[5:10])


def test_a_new_row_does_not_shift_the_next_page(people: list[Person]) -> None:
    order = ["family_name", "given_name"]
    first = keyset_page(Person.objects.all(), order=order, limit=5)
    expected = keyset_page(Person.objects.all(), order=order, cursor=first.next_cursor, limit=5)
    PersonFactory(family_name="Aaron", given_name="Abe")  # sorts before every row seen
    again = keyset_page(Person.objects.all(), order=order, cursor=first.next_cursor, limit=5)
    assert again.results == expected.results


def test_one_statement_a_page_and_no_count(
    people: list[Person], django_assert_num_queries: Any
) -> None:
    first = keyset_page(Person.objects.all(), order=["family_name"], limit=5)
    with django_assert_num_queries(1) as captured:
        keyset_page(Person.objects.all(), order=["family_name"], cursor=first.next_cursor, limit=5)
    assert "COUNT(" not in captured.captured_queries[0]["sql"].upper()


def _cursor(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        _cursor([1, 2]),  # not an object
        _cursor({"k": ["Brown"], "b": False}),  # too few values for the order
        _cursor({"k": ["Brown", "Ann", "x"], "b": "no"}),
        _cursor({"k": ["Brown", None, 1], "b": False}),
        _cursor({"k": ["Brown", "Ann", "not a number"], "b": False}),
    ],
)
def test_a_damaged_cursor_is_refused_clearly(people: list[Person], cursor: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        keyset_page(Person.objects.all(), order=["family_name", "given_name"], cursor=cursor)
    assert refused.value.field == "cursor"
    assert "first page" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 50), ("", 50), ("7", 7), ("200", 200), ("5000", 200)]
)
def test_limit_of(raw: str | None, expected: int) -> None:
    assert limit_of(raw) == expected


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5"])
def test_a_bad_limit_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        limit_of(raw)
    assert refused.value.field == "limit"
