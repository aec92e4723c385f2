"""An iCalendar (RFC 5545) file of the dated actions, one all-day event each.

Every text value is escaped as RFC 5545 section 3.3.11 says (backslash, semicolon, comma, and a
newline as the two characters ``\\n``), other control characters are dropped, and lines are
folded at 75 octets (section 3.1), so no value can start a property or a component of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from priorauth.track.due import DueItem

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value: str) -> str:
    """A TEXT value: ``\\`` ``;`` ``,`` escaped, CR/LF as ``\\n``, other controls removed."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROL.sub("", value)


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, never inside a UTF-8 character."""
    pieces: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, 74  # continuation lines start with one space
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def calendar(items: list[DueItem], *, stamp: dt.datetime | None = None) -> str:
    """The .ics text (CRLF line ends) with an event for every item that has a date."""
    stamp = stamp or dt.datetime.now(dt.UTC)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//priorauth//track//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for item in items:
        if item.due is None:
            continue
        uid = hashlib.sha256(f"{item.case_id}|{item.kind}|{item.due}|{item.action}".encode())
        summary = f"{item.case_id}: {item.kind.replace('_', ' ')} ({item.payer})"
        description = item.action + (f" [{item.rule}]" if item.rule else "")
        if item.reference:
            description += f"; payer reference: {item.reference}"
        lines += ["BEGIN:VEVENT",
                  f"UID:{uid.hexdigest()[:32]}@priorauth",
                  f"DTSTAMP:{stamp.astimezone(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}",
                  f"DTSTART;VALUE=DATE:{item.due.strftime('%Y%m%d')}",
                  f"DTEND;VALUE=DATE:{(item.due + dt.timedelta(days=1)).strftime('%Y%m%d')}",
                  f"SUMMARY:{escape_text(summary)}",
                  f"DESCRIPTION:{escape_text(description)}",
                  "TRANSP:TRANSPARENT",
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
