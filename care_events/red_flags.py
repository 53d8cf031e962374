"""Red-flag phrases in a patient's own text: a match makes its nurse review task HIGH at once, without the wait.

Matched as whole words, case- and accent-insensitive ("Dolor de PECHO" and "dolor de pécho" match "dolor de pecho"),
apostrophes and other punctuation counting as spaces, so "can't breathe" matches "Can't  breathe!" and the spelling
with a curly apostrophe. The phrases are REPLY_RED_FLAG_PHRASES (English and Spanish by default; README.md)."""

import re
import unicodedata
from collections.abc import Iterable

from django.conf import settings

_NOT_A_LETTER = re.compile(r"[^0-9a-z]+")


def normalized(text: str) -> str:
    """Lower case, accents and punctuation gone, words separated by one space, padded with a space each side."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return f" {_NOT_A_LETTER.sub(' ', bare).strip()} "


def has_red_flag(text: str, phrases: Iterable[str] | None = None) -> bool:
    body = normalized(text)
    candidates = settings.REPLY_RED_FLAG_PHRASES if phrases is None else phrases
    return any(normalized(phrase) in body for phrase in candidates if phrase.strip())
