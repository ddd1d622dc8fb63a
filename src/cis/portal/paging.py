"""Lists longer than a page: 25 rows at a time, with the NHS pagination component's links.

`paginate()` pages a queryset or list by number (Django's Paginator, counting the rows).
The template (`portal/components/pagination.html`) needs only a `PageLinks`, so a keyset
pager for very large lists can hand it the same links without counting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest

PER_PAGE = 25
PAGE_PARAMETER = "page"


@dataclass(frozen=True)
class PageLinks:
    rows: Sequence[Any]
    previous_url: str = ""
    next_url: str = ""
    previous_label: str = ""
    next_label: str = ""
    # "Showing 26 to 50 of 41 people"; blank when a pager cannot count cheaply.
    summary: str = ""

    @property
    def needed(self) -> bool:
        return bool(self.previous_url or self.next_url)


def page_url(request: HttpRequest, number: int) -> str:
    """This page's address with another page number, keeping the search and filters."""
    query = request.GET.copy()
    if number <= 1:
        query.pop(PAGE_PARAMETER, None)
    else:
        query[PAGE_PARAMETER] = str(number)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def paginate(
    request: HttpRequest, rows: Any, *, per_page: int = PER_PAGE, noun: str = "results"
) -> PageLinks:
    """The page the request asks for (`?page=N`; anything else is the first or last page)."""
    paginator = Paginator(rows, per_page)
    page = paginator.get_page(request.GET.get(PAGE_PARAMETER))
    total = paginator.count
    previous_url = page_url(request, page.number - 1) if page.has_previous() else ""
    next_url = page_url(request, page.number + 1) if page.has_next() else ""
    pages = paginator.num_pages
    summary = (
        f"Showing {page.start_index()} to {page.end_index()} of {total} {noun}"
        if total > per_page
        else ""
    )
    return PageLinks(
        rows=list(page.object_list),
        previous_url=previous_url,
        next_url=next_url,
        previous_label=f"{page.number - 1} of {pages}" if previous_url else "",
        next_label=f"{page.number + 1} of {pages}" if next_url else "",
        summary=summary,
    )
