"""Word error rate with a text normaliser that treats "$50,000" and "fifty thousand dollars" alike."""

from __future__ import annotations

import re

import jiwer

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand"), (100, "hundred")]


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, name in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return f"{number_words(head)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError(n)


def _expand(match: re.Match[str]) -> str:
    currency, digits, percent = match.group(1), match.group(2).replace(",", ""), match.group(3)
    words = number_words(int(digits)) if digits.isdigit() and len(digits) < 13 else digits
    if currency:
        words += " dollars"
    if percent:
        words += " percent"
    return f" {words} "


_CONTRACTIONS = {
    "who's": "who is", "what's": "what is", "it's": "it is", "that's": "that is", "there's": "there is",
    "i'm": "i am", "you're": "you are", "we're": "we are", "they're": "they are", "i've": "i have",
    "we've": "we have", "i'll": "i will", "we'll": "we will", "don't": "do not", "can't": "cannot",
    "won't": "will not", "isn't": "is not", "let's": "let us", "i'd": "i would", "here's": "here is",
}  # fmt: skip


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ").replace("\u2019", "'")
    text = re.sub(r"[a-z]+'[a-z]+", lambda m: _CONTRACTIONS.get(m.group(0), m.group(0)), text)
    text = re.sub(r"(\$)?(\d[\d,]*)(%)?", _expand, text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = text.replace("'", "")
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))
