"""The chunker cuts the first chunk early (clause, or a few words) and later ones at sentences."""

from __future__ import annotations

from pipeline.chunker import Chunker


def chunks_of(text: str, **options: int) -> list[str]:
    chunker = Chunker(**options)
    out: list[str] = []
    for word in text.split(" "):  # as a model streams it: a word at a time
        out += chunker.push(word + " ")
    return out + chunker.flush()


def test_first_chunk_at_the_first_clause_then_sentences() -> None:
    text = "Honestly, our supplier is fine. We ship weekly. Why would we change?"
    assert chunks_of(text, min_first_words=1) == [
        "Honestly,",
        "our supplier is fine.",
        "We ship weekly.",
        "Why would we change?",
    ]


def test_a_clause_too_short_to_say_alone_is_not_cut() -> None:
    assert chunks_of("Yes, we do that every week. Fine.")[0] == "Yes, we do that every week."


def test_a_long_first_phrase_is_cut_after_a_few_words() -> None:
    text = "Well I think we could look at the numbers again next week if you send them over. Fine."
    assert chunks_of(text, max_first_words=7) == [
        "Well I think we could look at",
        "the numbers again next week if you send them over.",
        "Fine.",
    ]


def test_later_chunks_are_never_cut_mid_sentence_below_the_size_limit() -> None:
    long_sentence = "We " + "really " * 20 + "care about delivery."
    assert chunks_of(f"Sure. {long_sentence}") == ["Sure.", long_sentence]


def test_nothing_is_lost() -> None:
    text = "One, two three four five six seven eight nine ten. Eleven twelve"
    assert " ".join(chunks_of(text)) == text
