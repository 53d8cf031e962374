"""Red-flag phrases: whole words, case- and accent-insensitive, punctuation as spaces."""

import pytest

from care_events.red_flags import has_red_flag


@pytest.mark.parametrize(
    "text",
    [
        "CHEST PAIN since noon",
        "I can't breathe",
        "I can\u2019t  breathe",
        "cannot breathe at night",
        "dolor de pecho",
        "Tengo DOLOR DE PÉCHO",
        "no puedo respirar.",
        "I'm short of breath",
    ],
)
def test_a_red_flag_is_found(text):
    assert has_red_flag(text)


@pytest.mark.parametrize("text", ["I feel dizzy since this morning", "my chestnut pain", "", "painchest"])
def test_other_texts_are_not_red_flags(text):
    assert not has_red_flag(text)


def test_the_phrases_given_are_used():
    assert has_red_flag("Tobillos hinchados", ["tobillos hinchados"])
    assert not has_red_flag("chest pain", ["tobillos hinchados"])
