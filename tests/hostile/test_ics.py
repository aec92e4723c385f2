"""Attacks on the .ics export: a newline (or CR, or a folded-line trick) in any string must not
add a property or an event; escaping follows RFC 5545 3.3.11 and lines fold at 75 octets."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st

from priorauth.track.due import DueItem
from priorauth.track.ics import calendar, escape_text

PROPERTIES = {"BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD", "UID", "DTSTAMP",
              "DTSTART;VALUE=DATE", "DTEND;VALUE=DATE", "SUMMARY", "DESCRIPTION", "TRANSP"}
ATTACKS = [
    "x\r\nATTENDEE:mailto:evil@example.com",
    "x\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:forged",
    "x\rDTSTART:19700101",
    "x\\nBEGIN:VALARM",  # a literal backslash-n stays text
    "x\u2028y\u0085z",  # Unicode line separators are not iCalendar line breaks
    "a;b,c\\d:e",
    "é" * 200,
]


def unfold(ics: str) -> list[str]:
    assert "\n" not in ics.replace("\r\n", "")  # only CRLF line ends
    return ics.replace("\r\n ", "").split("\r\n")[:-1]


def event_lines(item: DueItem) -> list[str]:
    ics = calendar([item], stamp=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    for line in ics.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    return unfold(ics)


def test_attacks_never_add_a_property() -> None:
    for attack in ATTACKS:
        item = DueItem(case_id="c-1", payer=attack, kind="file_appeal", action=attack,
                       due=dt.date(2027, 1, 5), rule=attack, reference=attack)
        lines = event_lines(item)
        names = [re.split(r"[:]", line, maxsplit=1)[0] for line in lines]
        assert set(names) <= PROPERTIES, names
        assert names.count("BEGIN") == 2 and names.count("SUMMARY") == 1


def test_escape_text_by_rfc5545() -> None:
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"
    assert escape_text("a\r\nb\rc") == "a\\nb\\nc"
    assert escape_text("bell\x07tab\tok") == "belltab\tok"  # controls dropped, TAB is text


@given(st.text(max_size=300))
def test_any_text_stays_inside_its_property(value: str) -> None:
    item = DueItem(case_id="c-1", payer=value, kind="reauthorization", action=value,
                   due=dt.date(2027, 1, 5), reference=value)
    lines = event_lines(item)
    assert len(lines) == 15  # 5 calendar lines + 9 event lines + END:VCALENDAR
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    body = re.sub(r"\\[\\;,n]", "", summary.removeprefix("SUMMARY:"))
    assert ";" not in body and "," not in body and "\\" not in body  # all escaped
