"""Near-duplicate people: the same person entered twice with their name spelt another way.

A candidate shares the date of birth, an email, a mobile or a registration number. Among those
with the same date of birth, a match needs a similar family name (the same Soundex code or at
most two letters apart) and a similar given name (the same, one a nickname or a shortening of
the other, one letter apart, or given and family names swapped). Every match says why.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Person

# Common English short forms of given names, both ways (each family of names shares a key).
_NICKNAMES = [
    {"robert", "rob", "bob", "bobby", "robbie"},
    {"william", "will", "bill", "billy", "liam"},
    {"james", "jim", "jimmy", "jamie"},
    {"john", "jack", "johnny", "jon"},
    {"elizabeth", "liz", "lizzie", "beth", "betty", "eliza"},
    {"katherine", "catherine", "kate", "katie", "kathy", "cathy", "kat"},
    {"margaret", "maggie", "meg", "peggy"},
    {"thomas", "tom", "tommy"},
    {"david", "dave", "davey"},
    {"michael", "mike", "mick", "mickey"},
    {"richard", "rich", "rick", "dick"},
    {"anthony", "tony", "ant"},
    {"alexander", "alex", "sandy", "alexandra", "alexa"},
    {"samuel", "sam", "sammy", "samantha"},
    {"christopher", "chris", "kit"},
    {"nicholas", "nick", "nicky"},
    {"edward", "ed", "eddie", "ted", "ned"},
    {"susan", "sue", "susie", "suzanne"},
    {"rebecca", "becky", "becca"},
    {"jennifer", "jen", "jenny"},
    {"deborah", "debbie", "deb"},
    {"patricia", "pat", "patty", "trish"},
    {"stephen", "steven", "steve"},
    {"matthew", "matt"},
    {"daniel", "dan", "danny"},
    {"joseph", "joe", "joey"},
    {"benjamin", "ben", "benny"},
    {"andrew", "andy", "drew"},
    {"charles", "charlie", "chas"},
    {"victoria", "vicky", "tori"},
]
_FAMILY_OF = {name: i for i, names in enumerate(_NICKNAMES) for name in names}


# Names are compared again and again (an import checks each starter against everyone sharing
# their date of birth, a national file against hundreds of thousands): each name's normal form
# and Soundex code is worked out once (issue 14).
_CACHED = 1 << 17


@functools.lru_cache(maxsize=_CACHED)
def soundex(name: str) -> str:
    """American Soundex (the census form): a letter and three digits; '' for no letters."""
    letters = [c for c in name.casefold() if "a" <= c <= "z"]
    if not letters:
        return ""
    codes = {
        **dict.fromkeys("bfpv", "1"),
        **dict.fromkeys("cgjkqsxz", "2"),
        **dict.fromkeys("dt", "3"),
        "l": "4",
        **dict.fromkeys("mn", "5"),
        "r": "6",
    }
    out = letters[0].upper()
    last = codes.get(letters[0], "")
    for c in letters[1:]:
        code = codes.get(c, "")
        if code and code != last:
            out += code
        if c not in "hw":  # h and w do not separate two letters with the same code
            last = code
    return (out + "000")[:4]


def _rows(a: str, b: str) -> Iterator[list[int]]:
    """The rows of the Damerau-Levenshtein table (optimal string alignment) of a against b, one
    per letter of a: the last cell of the last row is the distance."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    yield prev
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
        yield cur


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): insertions, deletions, substitutions
    and swaps of neighbouring letters each count one."""
    *_, last = _rows(a, b)
    return last[len(b)]


def within(a: str, b: str, limit: int) -> bool:
    """edit_distance(a, b) <= limit, without finishing the table once it cannot be: the
    distance is at least the difference in length, and once two rows in a row are all above
    the limit, every later row is too (each cell comes from the row above, or from the one
    above that plus one for a swap)."""
    if abs(len(a) - len(b)) > limit:
        return False
    above = limit + 1
    row: list[int] = []
    for row in _rows(a, b):
        lowest = min(row)
        if lowest > limit and above > limit:
            return False
        above = lowest
    return row[len(b)] <= limit


@functools.lru_cache(maxsize=_CACHED)
def _norm(name: str) -> str:
    return "".join(c for c in name.casefold() if c.isalpha())


def family_names_similar(a: str, b: str) -> str:
    """Why two family names may be the same one ('' if not)."""
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return ""
    if a == b:
        return "same family name"
    if soundex(a) == soundex(b):
        return "family names sound alike"
    if within(a, b, 1 if min(len(a), len(b)) <= 4 else 2):
        return "family names spelt nearly the same"
    return ""


def _first(given: str) -> str:
    """The first of someone's given names ('Mary Ann' -> 'Mary')."""
    parts = given.split(maxsplit=1)
    return parts[0] if parts else ""


def given_names_similar(a: str, b: str) -> str:
    a, b = _norm(_first(a)), _norm(_first(b))
    if not a or not b:
        return ""
    if a == b:
        return "same given name"
    if a in _FAMILY_OF and _FAMILY_OF.get(a) == _FAMILY_OF.get(b):
        return "given name is a short form of the other"
    if len(a) >= 2 and len(b) >= 2 and (a.startswith(b) or b.startswith(a)):
        return "given name shortened"
    if within(a, b, 1):
        return "given names spelt nearly the same"
    if len(a) == 1 or len(b) == 1:
        return "same initial" if a[0] == b[0] else ""
    return ""


@dataclass(frozen=True)
class Match:
    person: Person
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


def find_duplicates(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date | None,
    email: str = "",
    mobile: str = "",
    professional_number: str = "",
    among: QuerySet[Person] | None = None,
    exclude: Person | None = None,
) -> list[Match]:
    """People who may be this one, each with why; among narrows the search (to what a viewer
    may see, say)."""
    people = among if among is not None else Person.objects.all()
    shared = Q(pk__in=[])
    if date_of_birth is not None:
        shared |= Q(date_of_birth=date_of_birth)
    if email:
        shared |= Q(email__iexact=email)
    if mobile:
        shared |= Q(mobile=mobile)
    if professional_number:
        shared |= Q(professional_number__iexact=professional_number)
    candidates = people.filter(shared)
    if exclude is not None:
        candidates = candidates.exclude(pk=exclude.pk)
    found = []
    for other in candidates[:200]:
        reasons = match_reasons(
            other,
            given_name=given_name,
            family_name=family_name,
            date_of_birth=date_of_birth,
            email=email,
            mobile=mobile,
            professional_number=professional_number,
        )
        if reasons:
            found.append(Match(other, tuple(reasons)))
    return found


def match_reasons(
    other: Person,
    *,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date | None,
    email: str = "",
    mobile: str = "",
    professional_number: str = "",
) -> list[str]:
    """Why `other` may be the person with these details; empty when they are not a match.

    For callers that hold the candidates already (an import checks a whole file against the
    people sharing its dates of birth, emails, mobiles and numbers, read at once)."""
    reasons: list[str] = []
    if email and other.email.casefold() == email.casefold():
        reasons.append("same email")
    if mobile and other.mobile == mobile:
        reasons.append("same mobile")
    if professional_number and other.professional_number.upper() == professional_number.upper():
        reasons.append(f"same registration number ({other.professional_body or 'body?'})")
    if date_of_birth is not None and other.date_of_birth == date_of_birth:
        # Each comparison only when the answer still depends on it (they are pure).
        family = family_names_similar(family_name, other.family_name)
        given = given_names_similar(given_name, other.given_name) if family else ""
        if family and given:
            reasons[:0] = ["same date of birth", family, given]
        elif family_names_similar(family_name, other.given_name) and (
            given_names_similar(given_name, other.family_name)
            or family_names_similar(given_name, other.family_name)
        ):
            reasons[:0] = ["same date of birth", "given and family names swapped"]
    return reasons
