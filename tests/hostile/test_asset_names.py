"""Attacks through a case field that names a file in assets/ (provider.signature_image)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from priorauth import CaseInvalid, parse_case
from priorauth.case.assets import AssetImage
from priorauth.letter.render import Renderer
from priorauth.letter.templates import bundled_templates_dir

BARE = bundled_templates_dir() / "sample-minimal.yaml"
ADAPTER: TypeAdapter[str] = TypeAdapter(AssetImage)


def _case(name: str) -> object:
    data = yaml.safe_load(BARE.read_text("utf-8"))
    data["provider"]["signature_image"] = name
    return parse_case(yaml.safe_dump(data))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40) | st.from_regex(r"[A-Za-z0-9./\\_-]{1,20}\.(png|jpg)",
                                            fullmatch=True))
def test_accepted_names_are_bare_image_names(name: str) -> None:
    try:
        value = ADAPTER.validate_python(name)
    except ValidationError:
        return
    assert "/" not in value and "\\" not in value and ".." not in value
    assert not value.startswith(".") and Path(value).name == value
    assert value.lower().endswith((".png", ".jpg", ".jpeg"))


def test_a_link_out_of_assets_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    folder = tmp_path / "templates"
    (folder / "assets").mkdir(parents=True)
    os.symlink(secret, folder / "assets" / "dr-lee.png")
    with pytest.raises(CaseInvalid) as info:
        Renderer(templates_dirs=[folder]).html(_case("dr-lee.png"))  # type: ignore[arg-type]
    assert info.value.problems[0].path == "provider.signature_image"


def test_a_folder_with_an_image_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "assets" / "dr-lee.png").mkdir(parents=True)
    with pytest.raises(CaseInvalid):
        Renderer(templates_dirs=[tmp_path]).html(_case("dr-lee.png"))  # type: ignore[arg-type]
