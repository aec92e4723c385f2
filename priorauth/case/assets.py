"""Case fields that name a file in a template folder's ``assets/`` (a provider's signature image).

The case holds only a bare file name; the letter layer resolves it inside ``assets/`` through the
one fetcher (:mod:`priorauth.letter.fetcher`), so a case can never point a letter at any other
file.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
"""Raster formats WeasyPrint embeds as they are (no SVG: it could load further resources)."""

_BARE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _check_image_name(value: str) -> str:
    if not _BARE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            "must be a bare file name in the template folder's assets/ (letters, digits, '.', "
            "'-' and '_'; no folders, no spaces), e.g. dr-lee.png")
    if not value.lower().endswith(IMAGE_SUFFIXES):
        raise ValueError("must name a PNG or JPEG image (ending in .png, .jpg or .jpeg), "
                         "e.g. dr-lee.png")
    return value


AssetImage = Annotated[str, AfterValidator(_check_image_name)]
"""A bare image file name, resolved only inside a template folder's ``assets/``."""
