"""Subsonic API responses in the format the client asked for (``f=json``, ``f=jsonp`` or XML,
the default), from one JSON-shaped payload.

In XML, a payload's scalar fields are attributes, its objects and lists child elements, except
the few fields the API writes as text elements (an artist's biography and image URLs, a sonic
match's similarity, an extension's versions).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from typing import Any

from mydiscover import __version__

NAMESPACE = "http://subsonic.org/restapi"
API_VERSION = "1.16.1"
#: Fields the API writes as text child elements in XML, not as attributes.
TEXT_FIELDS = frozenset(
    {
        "biography",
        "musicBrainzId",
        "lastFmUrl",
        "smallImageUrl",
        "mediumImageUrl",
        "largeImageUrl",
        "similarity",
        "versions",
    }
)
#: The API's error codes mydiscover answers with.
GENERIC, MISSING_PARAMETER, WRONG_CREDENTIALS, NOT_FOUND = 0, 10, 40, 70
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,63}$")  # a JSONP callback that cannot inject
#: Characters XML 1.0 cannot hold at all (a tag may carry them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def envelope(payload: dict[str, Any], status: str = "ok") -> dict[str, Any]:
    """The ``subsonic-response`` object around a payload."""
    return {
        "status": status,
        "version": API_VERSION,
        "type": "mydiscover",
        "serverVersion": __version__,
        "openSubsonic": True,
        **payload,
    }


def error_payload(code: int, message: str) -> dict[str, Any]:
    """A failed response's payload."""
    return {"error": {"code": code, "message": message}}


def render(body: dict[str, Any], fmt: str, callback: str = "") -> tuple[bytes, str]:
    """A ``subsonic-response`` object as bytes in the asked format, with its media type."""
    if fmt in ("json", "jsonp"):
        text = json.dumps({"subsonic-response": body}, ensure_ascii=False)
        if fmt == "jsonp" and _CALLBACK.match(callback):
            return f"{callback}({text});".encode(), "application/javascript"
        return text.encode(), "application/json"
    root = ElementTree.Element("subsonic-response", {"xmlns": NAMESPACE})
    _fill(root, body)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode").encode(),
        "text/xml",
    )


def _fill(element: ElementTree.Element, value: dict[str, Any]) -> None:
    for key, item in value.items():
        if item is None:
            continue
        if isinstance(item, dict):
            _fill(ElementTree.SubElement(element, key), item)
        elif isinstance(item, list):
            for each in item:
                if isinstance(each, dict):
                    _fill(ElementTree.SubElement(element, key), each)
                else:
                    ElementTree.SubElement(element, key).text = _scalar(each)
        elif key in TEXT_FIELDS:
            ElementTree.SubElement(element, key).text = _scalar(item)
        else:
            element.set(key, _scalar(item))


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))
