"""The questions of a customer turn, and whether a reply answers each.

"How much is express and how fast is it?" asks two things; a reply answers a question when it
speaks of what the question names (a key word the other questions of the turn do not share),
or gives the kind of figure the question asks for ("how fast": a duration, date or time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.text.concepts import expansion
from harness.text.figures import Kind, figures_in
from harness.text.meaning import to_digits
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["Question", "answers", "questions", "same_question"]

_ASKS = re.compile(
    r"^\s*(?:how|what|what's|whats|when|where|which|who|why|can|could|do|does|did|is|are|"
    r"will|would|should|may|have|has)\b", re.IGNORECASE)
_SPLIT = re.compile(r",?\s+(?:and|or|also|plus)\s+(?=(?:how|what|what's|whats|when|where|which|"
                    r"who|why|can|could|do|does|is|are|will|would|should)\b)", re.IGNORECASE)
# Where a question starts inside a sentence that opens with the customer's story: "got a gift
# card for my birthday how long do i have to use it", "... on thursday. when do i get it back".
_ASKED_INSIDE = re.compile(
    r"(?:^|[\s,;:.!)]+)((?:how|what|what's|whats|when|where|which|who|why)\s+(?:is|are|was|"
    r"were|do|does|did|can|could|will|would|should|long|much|many|soon|often|fast|quickly|"
    r"time|day|date|kind|sort|size|happens|about|if)\b.*|"
    r"(?:what|which)\s+(?:[\w'-]+\s+){1,3}?(?:should|do|does|did|is|are|can|could|will|would)"
    r"\s+(?:i|you|we|it|they|she|he)\b.*|"  # "..., what UK size should i get"
    r"(?:can|could|do|does|did|is|are|will|would|should)\s+(?:i|you|we|it|they|she|he|there|"
    r"this|that|my|your)\b.*)$", re.IGNORECASE)
_JOINED = re.compile(r"^\s*(?:and|or|also|plus|but|so)\s+", re.IGNORECASE)
_PIECES = re.compile(r"[^?]+\?+|[^?]+$")
_FIGURE_ASKED: tuple[tuple[re.Pattern[str], frozenset[Kind]], ...] = (
    (re.compile(r"\bhow (?:long|fast|soon|quickly)\b|\bwhen\b|\bwhat time\b|\bby when\b|"
                r"\bdeadline\b|\bcut-?off\b|\bhow many (?:days|hours|weeks|months)\b", re.I),
     frozenset(("duration", "date", "time"))),
    (re.compile(r"\bhow much\b|\bcost\b|\bprice\b|\bfee\b|\bcharge\b|\bminimum\b|\bthreshold\b",
                re.I), frozenset(("money", "percent", "count"))),
    (re.compile(r"\bhow many\b", re.I), frozenset(("count",))),
    (re.compile(r"\btemperature\b|\bhow hot\b", re.I), frozenset(("temperature",))),
    (re.compile(r"\bwhat percent|\bhow much off\b", re.I), frozenset(("percent",))),
)


_NO_COST = re.compile(r"(?<![\w-])(?:free|complimentary)\b|\bno (?:fee|charge|cost)s?\b|"
                      r"\bat no (?:extra )?(?:cost|charge)\b|\bdoes ?n[o']?t cost\b", re.I)


# asking whether something costs at all (not how much, nor the minimum for it to be free)
_IF_PAID = re.compile(r"\b(?:is there|are there|any) (?:a |any )?(?:fee|charge|cost)s?\b|"
                      r"(?<!much )\b(?:do|does|will) (?:you|it|they|that|i) (?:charge|cost|"
                      r"(?:have|need) to pay)\b|\bis (?:it|that|this) free\b", re.I)


@dataclass(frozen=True)
class Question:
    text: str  # the question with the story it opens with ("if I buy it now, is it discounted")
    words: frozenset[str]  # its own key words (those the turn's other questions lack)
    figures: frozenset[Kind]  # the kinds of figure it asks for, if any
    sub: bool = False  # one of several questions of the turn
    concepts: frozenset[str] = frozenset()  # support words its own phrases stand for
    asks: str = ""  # from its question word on ("is it discounted"): what is asked


def questions(turn: str) -> list[Question]:
    """The questions a customer turn asks; the whole turn when it asks none explicitly. A
    question's words are its own (those the turn's other questions lack); a turn asking one
    question lends it all its words ("The kettle leaks. What am I doing wrong?")."""
    parts: list[str] = []
    for sentence in sentences(turn) or [turn]:
        for piece in _PIECES.findall(sentence):
            if piece.strip().endswith("?") or _ASKS.match(_JOINED.sub("", piece)):
                split = [p.strip(" ?") for p in _SPLIT.split(piece)
                         if p and (tokenize(p) or _asked_kinds(p))]  # "how much is it"
                asking = [p for p in split if _ASKS.match(_from_the_question(p))]
                parts += asking if asking else [piece.strip(" ?")]
            elif (inside := _from_the_question(piece.strip())) != piece.strip():
                parts.append(inside.strip(" ?"))  # "..., what would you recommend"
    if not parts:
        parts = [turn]
    if len(parts) == 1:
        return [Question(parts[0], frozenset(tokenize(turn)), _asked_kinds(parts[0]),
                         concepts=frozenset(expansion(turn)), asks=_from_the_question(parts[0]))]
    words = [frozenset(tokenize(p)) for p in parts]
    stands = [frozenset(expansion(p)) for p in parts]
    asks = [_from_the_question(p) for p in parts]
    asked = [frozenset(tokenize(a)) for a in asks]  # the story belongs to no one question
    found = []
    for index, part in enumerate(parts):
        others = frozenset().union(*(w for i, w in enumerate(asked) if i != index))
        own = words[index] - others or words[index]
        theirs = frozenset().union(*(w for i, w in enumerate(stands) if i != index))
        found.append(Question(part, own, _asked_kinds(part), sub=True,
                              concepts=stands[index] - theirs - others, asks=asks[index]))
    return found


def _from_the_question(part: str) -> str:
    """The question of a part that opens with the customer's story, from its first question
    word on; the part itself when it opens with one or holds none."""
    part = _JOINED.sub("", part)
    if _ASKS.match(part):
        return part
    found = _ASKED_INSIDE.search(part)
    return found.group(1) if found and len(found.group(1).split()) >= 3 else part


def _asked_kinds(part: str) -> frozenset[Kind]:
    return frozenset().union(*(k for pattern, k in _FIGURE_ASKED if pattern.search(part)))


def answers(reply: str, question: Question, currency: str = "USD") -> bool:
    """Whether the reply speaks to the question: its own key words, or the figure it asks."""
    said = set(tokenize(reply))
    shared = question.words & said
    if not question.figures and not shared:
        # in the support vocabulary's words: "can I send them back?" is answered by "returns"
        shared = (question.words | question.concepts) & (said | set(expansion(reply)))
    gives = bool(question.figures) and any(
        f.kind in question.figures for f in figures_in(to_digits(reply), currency))
    # "is there a fee?" is answered by "a complimentary consultation", "it's free"
    gives = gives or bool(_IF_PAID.search(question.text) and _NO_COST.search(reply))
    if question.figures and question.sub and len(shared) < 2:
        # a sub-question ("... and what's the minimum order?") wants its figure; a vague
        # answer to a lone question is still about it (accuracy says it is vague)
        return gives
    # the figure asked for answers in other words too ("when do they show up?": "they
    # appear within 24 hours")
    return bool(shared) or not question.words or gives


def same_question(theirs: frozenset[str] | set[str], asked: frozenset[str] | set[str]) -> bool:
    """Whether a question an article asks (an FAQ's "How long is the plant guarantee?") is the
    customer's: most key words of each are the other's."""
    shared = len(theirs & asked)
    return shared >= 2 and shared >= 0.6 * len(theirs) and shared >= 0.6 * len(asked)
