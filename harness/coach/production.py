"""Grade a real conversation (the AI's actual replies) with the rubric, with no fixture.

Without a fixture there is no expected fact or outcome, so each dimension is judged from what
is verified or visible in the conversation itself:

    accuracy    the catalog (prices, products, availability: `grading.catalog_check`) and the
                policy figures of the KB served on the conversation's date (`figures`)
    tone        the store's tone profile, applied to every AI message (`grading.grade_tone`)
    resolution  a customer who asked for a person and was not handed over; a topic that must
                go to a person (agent.yaml `escalation.topics`) answered by the AI alone
                (`handover`); a repeat contact (marked later, by `score.RepeatContacts`)
    relevance   each AI reply vs the customer turn it answers: shares key words with it, and
                draws on a retrieved article (or the catalog product asked about). When no AI
                reply answers a question with key words, relevance is *not judged*: it is left
                out of the grades and the weights of the others are renormalised.

A conversation where the AI wrote nothing is graded on resolution alone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from harness.agent.run import Run, ToolUse
from harness.coach.handover import needs_person, person_phrases, read_handover
from harness.coach.redact import PLACEHOLDERS, redact
from harness.grading.catalog_check import catalog_claims
from harness.grading.claims import ClaimBase
from harness.grading.fixture import (
    DEFLECTS,
    claimed_action,
    grade_tone,
    said_done,
    without_deflection,
)
from harness.grading.orders import order_claims, verified_text
from harness.grading.overlap import DRAWN_ON, drawn_share
from harness.grading.rubric import Dimension, Grade, is_review, score_of
from harness.kb.catalog import find_products
from harness.kb.retrieval import Hit, KnowledgeBase
from harness.store.conversations import Conversation, Message
from harness.store.loading import Store
from harness.store.schema import DEFAULT_MIN_CONFIDENCE, Case, Expectation, Turn
from harness.text.figures import figures_in
from harness.text.matching import phrase_in
from harness.text.meaning import to_digits, unit_of
from harness.text.questions import answers, questions
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["Gap", "ProductionGrader", "Scored", "with_repeat"]

_ORDER = {"fail": 0, "partial": 1, "pass": 2}


@dataclass(frozen=True)
class Gap:
    """A customer question the KB could not ground: its best retrieval confidence is low."""

    question: str
    confidence: float
    article: str | None  # the best hit, however weak


@dataclass(frozen=True)
class Scored:
    id: str
    started_at: dt.datetime  # naive UTC
    customer: str
    channel: str
    topic: str | None  # the export's, else the escalation topic or the best article's topic
    csat: int | None
    outcome: Literal["resolve", "escalate"]  # escalate: a person took over
    handoff: str | None  # why a person took over
    grades: Mapping[str, Dimension]
    score: float
    review: bool
    not_judged: Mapping[str, str] = field(default_factory=dict)
    gaps: tuple[Gap, ...] = ()
    turn: int | None = None  # index of the first AI message a problem is about
    wrong: tuple[str, ...] = ()  # figures the AI stated that the KB contradicts
    right: tuple[str, ...] = ()  # what the KB says instead
    conflicts: tuple[str, ...] = ()  # served articles that disagree on what a reply states
    messages: tuple[Mapping[str, str], ...] = field(default=(), repr=False)  # kept: redacted

    @property
    def automated(self) -> bool:
        """Resolved by the AI alone, without a problem of resolution."""
        return self.outcome == "resolve" and self.grades["resolution"].grade == "pass"

    @property
    def reasons(self) -> dict[str, str]:
        found = {name: d.reason for name, d in self.grades.items()}
        found.update({name: f"not judged: {why}" for name, why in self.not_judged.items()})
        return found

    def to_json(self) -> dict[str, Any]:
        """The shape of a run report's case: id, grades, score, review, reasons (and context)."""
        return {
            "id": self.id, "started_at": self.started_at.isoformat() + "Z",
            "customer": self.customer, "topic": self.topic, "outcome": self.outcome,
            "grades": {n: d.grade for n, d in self.grades.items()}, "score": self.score,
            "review": self.review, "reasons": self.reasons,
        }


def with_repeat(scored: Scored, later: Scored, weights: Mapping[str, float]) -> Scored:
    """`scored` with resolution failed: the customer came back on the same topic."""
    hours = (later.started_at - scored.started_at).total_seconds() / 3600
    why = (f"repeat contact: the customer came back {hours:.0f} h later on {scored.topic}"
           f" ({later.id}), so it was not resolved")
    old = scored.grades["resolution"]
    reason = why if old.grade == "pass" else f"{old.reason}; {why}"
    grades = {**scored.grades, "resolution": Dimension("fail", reason, old.excerpt)}
    return replace(scored, grades=grades, score=score_of(grades, weights),
                   review=is_review(grades))


@dataclass(frozen=True)
class _Pair:
    question: str  # the customer turns the AI message answers ("" when it answers none)
    asked_before: str  # every customer turn up to the reply
    index: int  # the AI message's index
    reply: str


def _pairs(messages: tuple[Message, ...]) -> list[_Pair]:
    pairs, pending, said = [], [], []
    for index, message in enumerate(messages):
        if message.role == "customer":
            pending.append(message.text)
            said.append(message.text)
        elif message.role == "ai":
            pairs.append(_Pair(" ".join(pending), " ".join(said), index, message.text))
            pending = []
        else:
            pending = []
    return pairs


def _worst(dimensions: list[tuple[int, Dimension]]) -> tuple[int | None, Dimension | None]:
    if not dimensions:
        return None, None
    return min(dimensions, key=lambda item: (_ORDER[item[1].grade], item[0]))


class ProductionGrader:
    """A store's rubric for production conversations; holds the KB indexes between them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        agent = store.agent
        names = [n for p in store.catalog.products for n in (p.name, *p.aliases)]
        self.kb = KnowledgeBase(store.articles, names)
        self.claims = ClaimBase(store.articles, store.catalog)
        self.weights = agent.rubric.weights
        self.rules = agent.escalation
        self.gap_below = agent.escalation.min_confidence or DEFAULT_MIN_CONFIDENCE
        self._ignore = (agent.tone.sign_off or "", agent.tone.brand)
        self._no_case = Case(id="production", suite="production",
                             conversation=(Turn(role="customer", text="-"),),
                             expect=Expectation(outcome="resolve"))

    def grade(self, conversation: Conversation) -> Scored:
        pairs = _pairs(conversation.messages)
        hits = {p.index: self._retrieve(p, conversation.day) for p in pairs if p.question}
        handover = read_handover(conversation, self.rules)
        turn_a, accuracy, wrong, right, conflicts = self._accuracy(conversation, pairs, hits)
        turn_t, tone = _worst([(p.index, self._tone(p, conversation)) for p in pairs])
        turn_r, relevance = _worst([(p.index, self._relevance(p, hits[p.index]))
                                    for p in self._answers(conversation, pairs)])
        resolution = self._resolution(handover.resolution(conversation), pairs)
        grades = {"accuracy": accuracy, "relevance": relevance,
                  "tone": tone or Dimension("pass", "no AI message"), "resolution": resolution}
        not_judged = {}
        if relevance is None:
            del grades["relevance"]
            not_judged["relevance"] = ("no AI reply to judge: each was a hand-off, answered a"
                                      " request for a person, or a turn without key words")
        if not pairs:
            not_judged = {name: "the AI wrote no message" for name in ("accuracy", "relevance",
                                                                       "tone")}
            grades = {"resolution": resolution}
        turns = [t for t, d in ((turn_a, accuracy), (turn_r, relevance), (turn_t, tone))
                 if d is not None and d.grade != "pass"]
        turns.append(handover.unhanded_turn(conversation))
        best = max((h.confidence for found in hits.values() for h in found), default=0.0)
        return Scored(
            id=conversation.id, started_at=conversation.started_utc,
            customer=conversation.customer, channel=conversation.channel,
            topic=conversation.topic or (handover.topic.topic if handover.topic else
                                         self._kb_topic(hits)),
            csat=conversation.csat,
            outcome="escalate" if conversation.human_joined else "resolve",
            handoff=handover.reason(conversation, kb_covered=best >= self.gap_below),
            grades=grades, score=score_of(grades, self.weights),
            review=is_review(grades) or bool(conflicts and pairs), not_judged=not_judged,
            conflicts=conflicts if pairs else (),
            gaps=() if handover.request or handover.topic else self._gaps(pairs, hits),
            turn=min((t for t in turns if t is not None), default=None), wrong=wrong,
            right=right,
        )

    def _resolution(self, handed: Dimension, pairs: list[_Pair]) -> Dimension:
        """The hand-over rules, then what the AI replies did: claiming an action the agent
        has no tool for fails; sending the customer elsewhere for an answer is partial."""
        if handed.grade != "pass" or handed.reason == "handed to a person":
            return handed
        for pair in pairs:
            if claimed := said_done(pair.reply):
                return Dimension("fail", f"AI message {pair.index + 1} claims an action the"
                                         f" agent cannot take ({claimed!r})")
        for pair in pairs:
            if sent := DEFLECTS.search(pair.reply):
                return Dimension("partial", f"AI message {pair.index + 1} sends the customer"
                                            f" elsewhere ({sent.group(0)!r})", pair.reply)
        return handed

    def _answers(self, conversation: Conversation, pairs: list[_Pair]) -> list[_Pair]:
        """The AI replies relevance is judged on: answers to a question with key words, not a
        hand-off and not a reply to a request for a person."""
        handoff_at = self._handoff_index(conversation, pairs)
        return [p for p in pairs if p.question and p.index != handoff_at
                and tokenize(p.question) and not self._hands_over(p)]

    def _hands_over(self, pair: _Pair) -> bool:
        """A reply to a turn that needs a person which says only that one will take over."""
        return needs_person(pair.question, self.rules) and not figures_in(
            to_digits(pair.reply), self.store.catalog.currency)

    # -- accuracy ----------------------------------------------------------------------------

    def _accuracy(
        self, conversation: Conversation, pairs: list[_Pair],
        hits: Mapping[int, tuple[Hit, ...]],
    ) -> tuple[int | None, Dimension, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The claims of every AI message against the catalog and the KB served that day
        (`grading.claims`); a figure asked for that the served KB states but the reply does
        not give is vague (partial). Returns the turn, the grade, the wrong figures, what
        the KB says instead, and the KB conflicts found."""
        check = self.claims.check_for(conversation.day)
        wrong_at: list[tuple[int, str, str]] = []
        partial_at: list[tuple[int, str, str]] = []
        wrong, right, conflicts = [], [], []
        backend = _tool_run(conversation)
        verified = verified_text(backend, self.store.agent, self.store.catalog.currency)
        for pair in pairs:
            if claimed := claimed_action(pair.reply, backend, self.store.agent):
                wrong_at.append((pair.index, f"says {claimed!r}, which no tool of the agent"
                                             " carried out", pair.reply))
            for found in order_claims(pair.reply, backend, self.store.agent, self.store.catalog):
                wrong_at.append((pair.index, f"tool results: {found.problem}", found.text))
            for claim in catalog_claims(pair.reply, self.store.catalog, ignore=self._ignore):
                wrong_at.append((pair.index, f"catalog: {claim.problem}", claim.text))
            body = _without(pair.reply, self._ignore)
            said = check.claims(body, customer_said=f"{pair.asked_before} {verified}",
                                asked=pair.question)
            for found in said:
                if found.conflict:
                    conflicts.append(f"AI message {pair.index + 1}: {found.conflict}")
                if found.verdict in ("contradicted", "unserved"):
                    wrong_at.append((pair.index, f"KB: {found.reason}", found.sentence))
                    wrong.append(found.figure.shown())
                    if found.statement is not None and found.statement.source != "fixture":
                        right.append(found.statement.said(unit_of(found.figure)))
                elif found.verdict == "unsupported":
                    wrong_at.append((pair.index, f"KB: {found.reason}", found.sentence))
            for denied_by in check.contradictions(body, said, pair.question):
                wrong_at.append((pair.index, f"KB: {denied_by.reason}", denied_by.sentence))
            vague = self._vague(pair, hits.get(pair.index, ()), body)
            if vague:
                partial_at.append((pair.index, vague, pair.reply))
        extra = tuple(dict.fromkeys(conflicts))
        note = f"; review: {'; '.join(extra)}" if extra else ""
        for grade, problems in (("fail", wrong_at), ("partial", partial_at)):
            if problems:
                turn, reason, sentence = problems[0]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                graded = Dimension(grade, f"AI message {turn + 1}: {reason}{more}{note}",  # type: ignore[arg-type]
                                   sentence)
                return turn, graded, tuple(dict.fromkeys(wrong)), \
                    tuple(dict.fromkeys(right)), extra
        return None, Dimension("pass", "no figure, price or product that the catalog or the"
                                       f" served KB contradicts{note}"), (), (), extra

    def _vague(self, pair: _Pair, hits: tuple[Hit, ...], body: str) -> str | None:
        """The customer asked for a figure that a retrieved served article states, and the
        reply gives no figure of that kind."""
        if not pair.question or needs_person(pair.question, self.rules):
            return None
        currency = self.store.catalog.currency
        given = {f.kind for f in figures_in(to_digits(body), currency)}
        asked = [(q.text, q.figures - {"count"}) for q in questions(pair.question)]
        if _VAGUE_TIME.search(body):  # "it should start moving soon": when, without a figure
            asked.append((pair.question, frozenset(("duration", "date"))))
        for text, kinds in asked:
            if not kinds or kinds & given:
                continue
            asked_words = set(tokenize(text))
            for hit in hits[:3]:
                for sentence in sentences(hit.article.body):
                    if asked_words & set(tokenize(sentence)) and any(
                            f.kind in kinds for f in figures_in(to_digits(sentence), currency)):
                        return (f"vague: asked {text!r}, article {hit.article.id} gives the"
                                f" figure ({sentence!r}), the reply does not")
        return None

    # -- tone --------------------------------------------------------------------------------

    def _tone(self, pair: _Pair, conversation: Conversation) -> Dimension:
        run = Run(case_id=conversation.id, as_of=conversation.day, model="production",
                  reply=pair.reply)
        graded = grade_tone(self._no_case, run, self.store.agent.tone)
        if graded.grade == "pass":
            return graded
        return replace(graded, reason=f"AI message {pair.index + 1}: {graded.reason}")

    # -- relevance ---------------------------------------------------------------------------

    def retrieve(self, messages: list[Message], day: dt.date) -> tuple[Hit, ...]:
        """The articles retrieved for the last customer turns of `messages`, best first."""
        trailing = []
        for message in reversed(messages):
            if message.role != "customer":
                break
            trailing.insert(0, message.text)
        said = " ".join(m.text for m in messages if m.role == "customer")
        return self._retrieve(_Pair(" ".join(trailing), said, len(messages), ""), day)

    def _retrieve(self, pair: _Pair, day: dt.date) -> tuple[Hit, ...]:
        index = self.kb.index_for(day)
        queries = [_searchable(pair.question), _searchable(pair.asked_before)]
        return index.search(queries, self.store.agent.retrieval.top_k)

    def _relevance(self, pair: _Pair, hits: tuple[Hit, ...]) -> Dimension:
        """Each question of the customer's turn answered (its own key words, or the figure
        it asks for); one question is also answered by drawing on a retrieved article or the
        product asked about. Drawing on no retrieved article is a retrieval note, not graded."""
        where = f"AI message {pair.index + 1}"
        if any(phrase_in(p, pair.question) for p in person_phrases(self.rules)):
            return Dimension("partial", f"{where} answers on after the customer asked for a"
                                        " person", pair.reply)
        body = without_deflection(_without(pair.reply, self._ignore))
        asked = questions(pair.question)
        skipped = [q for q in asked if not answers(body, q, self.store.catalog.currency)]
        shares_by_hit = {h.article.id: drawn_share(body, h.article.body) for h in hits}
        best = max(shares_by_hit, key=lambda a: shares_by_hit[a], default=None)
        drawn = best if best is not None and shares_by_hit[best] >= DRAWN_ON else None
        grounded = f"article {drawn}" if drawn else (
            "the catalog" if self._names_asked_product(pair) else None)
        if len(asked) == 1 and skipped and grounded:
            skipped = []
        note = "" if grounded else " (retrieval: it draws on no retrieved article)"
        if not skipped:
            source = f" from {grounded}" if grounded else ""
            return Dimension("pass", f"answers the question{source}{note}")
        grade: Grade = "fail" if len(skipped) == len(asked) else "partial"
        detail = "; ".join(repr(q.text) for q in skipped)
        what = "answers none of" if grade == "fail" else f"skips {len(skipped)} of"
        return Dimension(grade, f"{where} {what} the {len(asked)} questions asked: {detail}"
                                f"{note}", pair.reply)

    def _names_asked_product(self, pair: _Pair) -> bool:
        asked = {m.product.sku for m in find_products(pair.question, self.store.catalog)}
        return bool(asked) and bool(
            asked & {m.product.sku for m in find_products(pair.reply, self.store.catalog)})

    def _handoff_index(self, conversation: Conversation, pairs: list[_Pair]) -> int | None:
        """The AI message that hands over to a person (not an answer to grade for relevance)."""
        if not conversation.human_joined:
            return None
        first_agent = next((i for i, m in enumerate(conversation.messages) if m.role == "agent"),
                           len(conversation.messages))
        before = [p.index for p in pairs if p.index < first_agent]
        return before[-1] if before else None

    # -- what the review needs ---------------------------------------------------------------

    def _kb_topic(self, hits: Mapping[int, tuple[Hit, ...]]) -> str | None:
        for found in hits.values():
            if found and found[0].confidence >= self.gap_below:
                return found[0].article.topic
        return None

    def _gaps(self, pairs: list[_Pair], hits: Mapping[int, tuple[Hit, ...]]) -> tuple[Gap, ...]:
        gaps = []
        for pair in pairs:
            found = hits.get(pair.index)
            if found is not None and tokenize(pair.question):
                best = max(found, key=lambda h: h.confidence, default=None)
                confidence = best.confidence if best else 0.0
                if confidence < self.gap_below:
                    gaps.append(Gap(pair.question, confidence, best.article.id if best else None))
        return tuple(gaps)


_VAGUE_TIME = re.compile(r"\b(soon|shortly|a little while|a bit longer|a few days|any day now|"
                         r"in no time|before long|a little longer)\b", re.IGNORECASE)


def _without(text: str, phrases: tuple[str, ...]) -> str:
    """The reply without the sign-off and the brand, which claim nothing."""
    for phrase in phrases:
        if phrase:
            text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    return text


def _searchable(text: str) -> str:
    """Text without personal data, whose rare words would read as an uncovered question."""
    redacted = redact(text)
    for placeholder in PLACEHOLDERS:
        redacted = redacted.replace(placeholder, " ")
    return redacted


def _tool_run(conversation: Conversation) -> Run:
    """The export's tool calls as a run's, so replies are checked against their results."""
    uses = tuple(ToolUse(c.name, json.dumps(c.args), json.dumps(c.result))
                 for c in conversation.tool_calls)
    return Run(case_id=conversation.id, as_of=conversation.day, model="production", tools=uses)
