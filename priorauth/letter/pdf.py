"""PDF output: archival PDF/A-3b with the case embedded, reproducible bytes, fax-cover packets.

- **PDF/A-3b** (``pdf_a=True``, the default for letters): sRGB output intent, XMP metadata,
  document language from ``<html lang>``, and the case as an embedded ``case.json`` attachment
  (``AFRelationship /Source``), the way Factur-X invoices carry their XML. The JSON is
  ``Case.model_dump_json(by_alias=True)``, so ``Case.model_validate_json`` reads it back.
- **Reproducible.** No clock is read: document dates come from the template's
  ``dcterms.created``/``modified`` (the letter date) and the attachment's dates from
  ``SOURCE_DATE_EPOCH`` when set, else the letter date; the file identifier is a hash of the
  content. The same case and template give the same bytes.
- **Tagged** (``tagged=True``): structure tags for screen readers (PDF/UA-style), off by default.

WeasyPrint is imported lazily, as in :mod:`priorauth.letter.render`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.case.model import Case
from priorauth.errors import RenderError
from priorauth.letter._weasy import dedupe_associated_files, srgb_profile

PDF_VARIANT = "pdf/a-3b"
CASE_ATTACHMENT = "case.json"


@dataclass(frozen=True)
class PdfOptions:
    pdf_a: bool = True
    """PDF/A-3b with the case embedded as ``case.json``."""
    tagged: bool = False
    """Tagged PDF (structure tree, for accessibility)."""

    def render_options(self) -> dict[str, Any]:
        """Options for ``HTML.render`` (layout needs the variant for its output intent)."""
        options: dict[str, Any] = {"pdf_tags": self.tagged}
        if self.pdf_a:
            options["pdf_variant"] = PDF_VARIANT
        return options


def source_date(case: Case | None, environ: Mapping[str, str] | None = None) -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` if set (reproducible-builds convention), else the letter date."""
    value = (os.environ if environ is None else environ).get("SOURCE_DATE_EPOCH", "").strip()
    if value:
        try:
            return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise RenderError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not "
                              f"{value[:40]!r}") from None
    if case is not None:
        return dt.datetime.combine(case.letter.date, dt.time(), tzinfo=dt.UTC)
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def case_json(case: Case) -> bytes:
    """The case as embedded in the PDF (by alias, so it reads back with ``model_validate_json``)."""
    return case.model_dump_json(by_alias=True).encode("utf-8")


def case_attachment(case: Case) -> Any:
    """``case.json`` as a WeasyPrint attachment built from bytes (never fetched by URL)."""
    from weasyprint import Attachment

    when = source_date(case)
    return Attachment(string=case_json(case), name=CASE_ATTACHMENT,
                      description="The case this letter was generated from (priorauth JSON)",
                      created=when, modified=when, relationship="Source")


def write_pdf(document: Any, case: Case | None, options: PdfOptions) -> bytes:
    """Write a laid-out WeasyPrint ``Document`` as PDF bytes."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").strip():
        stamp = source_date(case).strftime("%Y-%m-%dT%H:%M:%SZ")
        document.metadata.created = document.metadata.created or stamp
        document.metadata.modified = document.metadata.modified or stamp
    extra: dict[str, Any] = {"pdf_tags": options.tagged}
    if options.pdf_a:
        extra["pdf_variant"] = PDF_VARIANT
        extra["pdf_identifier"] = True
        extra["attachments"] = [case_attachment(case)] if case is not None else []
        document.color_profiles["srgb"] = srgb_profile()  # see _weasy.srgb_profile
        extra["output_intent"] = "preloaded-srgb"
    else:
        extra["attachments"] = []
    pdf = document.write_pdf(uncompressed_pdf=False, finisher=dedupe_associated_files, **extra)
    assert isinstance(pdf, bytes)
    return pdf


def merge(first: Any, *rest: Any, metadata_from: Any = None) -> Any:
    """One document with the pages of ``first`` then ``rest``; metadata from ``metadata_from``."""
    pages = [page for doc in (first, *rest) for page in doc.pages]
    return (metadata_from or first).copy(pages)
