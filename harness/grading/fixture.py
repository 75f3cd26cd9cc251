"""Grade one reply with the rubric (FORMATS.md, "Rubric"), with no LLM.

Each dimension is pass / partial / fail with a reason a support coach can act on. Graders
are pure functions of the case, the run and the store; they never change their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from harness.agent.escalation import ASKS_FOR_PERSON, rule_decision
from harness.agent.run import Run
from harness.grading.catalog_check import catalog_claims
from harness.grading.claims import Claim, ClaimBase, denied, key_words
from harness.grading.orders import order_claims, verified_text
from harness.grading.overlap import draws_on
from harness.grading.rubric import Dimension, Grade, Graded, is_review, score_of, with_judge
from harness.grading.tools import actions_done, check_tools
from harness.store.loading import Store
from harness.store.schema import AgentConfig, Case, Tone
from harness.text.figures import Figure, figures_in
from harness.text.matching import excerpt, find_phrase, is_regex, normalize, phrase_in
from harness.text.meaning import figures_agree, stated, to_digits, unit_of
from harness.text.questions import answers, questions
from harness.text.sentences import sentences

__all__ = ["claimed_action", "grade_accuracy", "grade_relevance", "grade_resolution", "grade_run",
           "grade_tone", "said_done", "states_forbidden", "without_deflection"]

_EMOJI = re.compile(
    "[\U0001f300-\U0001faff\U00002600-\U000027bf\U0001f000-\U0001f2ff\U0000fe0f\U0000200d]"
)
_EXCERPT = 200  # characters of the reply shown beside a reason


def _excerpt(text: str) -> str:
    return excerpt(text, _EXCERPT)


def _sentence_with(reply: str, phrase: str) -> str:
    for sentence in sentences(reply):
        if phrase_in(phrase, sentence):
            return sentence
    match = find_phrase(phrase, reply)
    return _excerpt(match.string[max(0, match.start() - 60): match.end() + 60]) if match else ""


def _articles_stating(phrase: str, store: Store, ids: tuple[str, ...]) -> list[str]:
    return [a.id for a in store.articles if a.id in ids and phrase_in(phrase, a.body)]


def _body(reply: str, tone: Tone) -> str:
    """The reply without the brand and the sign-off, which say nothing about the question."""
    for phrase in (tone.sign_off, tone.brand):
        if phrase:
            reply = re.sub(re.escape(phrase), " ", reply, flags=re.IGNORECASE)
    return reply


def _claims_base(store: Store) -> ClaimBase:
    """The store's claim base, read once per store (stores are immutable once loaded)."""
    held = _BASES.get(id(store))
    if held is None or held[0] is not store:
        held = (store, ClaimBase(store.articles, store.catalog))
        _BASES[id(store)] = held
    return held[1]


_BASES: dict[int, tuple[Store, ClaimBase]] = {}


def states_forbidden(phrase: str, reply: str) -> str | None:
    """The sentence that states `phrase` as true: not denied, not a contrast ("instead of our
    usual 45 days", "not the 14 days of the old policy")."""
    for sentence in sentences(reply) or [reply]:
        for text in dict.fromkeys((normalize(sentence), to_digits(sentence))):
            match = find_phrase(phrase, text)
            if match and not denied(text, match.start(), match.end()):
                return sentence
    return None


def grade_accuracy(case: Case, run: Run, store: Store) -> Dimension:
    """Fail: a forbidden statement, an action claimed that no tool carried out, a catalog
    error, a claim the served KB contradicts, or a figure nothing served backs (in practice a
    wrong version of a KB figure that could not be aligned);
    partial: an expected fact missing."""
    reply, expect = run.reply, case.expect
    currency = store.catalog.currency
    for phrase in expect.forbidden:
        said = states_forbidden(phrase, reply)
        if said is not None:
            sources = _articles_stating(phrase, store, run.served)
            where = f" (it comes from article {', '.join(sources)})" if sources else ""
            return Dimension("fail", f"states {phrase!r}, which the fixture forbids{where}",
                             said)
    body = _body(reply, store.agent.tone)
    checked = check_tools(case, run)
    if checked.missing:
        return Dimension("fail", f"did not call {', '.join(checked.missing)}, which the case"
                         " requires (expect.tools.called): the reply is not based on the record",
                         _excerpt(reply))
    if claimed := claimed_action(body, run, store.agent):
        return Dimension("fail", f"says {claimed!r}, which no tool of the agent carried out",
                         _sentence_with(reply, claimed))
    order = order_claims(body, run, store.agent, store.catalog)
    if order:
        problems = "; ".join(dict.fromkeys(c.problem for c in order))
        return Dimension("fail", f"tool results: {problems}", order[0].text)
    claims = catalog_claims(body, store.catalog)
    if claims:
        problems = "; ".join(dict.fromkeys(c.problem for c in claims))
        return Dimension("fail", f"catalog: {problems}", claims[0].text)
    earlier = " ".join([*(t.text for t in case.conversation),
                        verified_text(run, store.agent, currency)])
    check = _claims_base(store).check_for(run.as_of, run.served or None)
    checked = check.claims(body, customer_said=earlier, asked=case.last_customer_text,
                           expected=expect.facts)
    wrong = [c for c in checked if c.verdict in ("contradicted", "unserved")]
    if wrong:
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        return Dimension("fail", f"KB: {wrong[0].reason}{more}", wrong[0].sentence)
    for denied_by in check.contradictions(body, checked, case.last_customer_text):
        return Dimension("fail", f"KB: {denied_by.reason}", denied_by.sentence)
    # A hand-off claims nothing it must complete: whether it should have happened is
    # resolution's (and relevance's) to grade, not accuracy's (docs/labelling.md).
    handed_off = run.outcome == "escalate"
    wordings = {f: _kb_wordings(f, store, case, run) for f in expect.facts}
    missing = [] if handed_off else [
        f for f in expect.facts
        if not stated(f, reply, equivalents=(*expect.equivalents.get(f, ()), *wordings[f]),
                      currency=currency)]
    replaced = [r for f in missing if (r := _replaced(f, wordings[f], checked, store, run))]
    if replaced:
        return Dimension("fail", replaced[0][0], replaced[0][1])
    unbacked = [c for c in checked if c.verdict == "unsupported"]
    problems = []
    if missing:
        detail = "; ".join(_missing_reason(f, store, case) for f in missing)
        problems.append(f"missing {len(missing)} of {len(expect.facts)} facts: {detail}")
    if unbacked:
        problems.append("; ".join(dict.fromkeys(c.reason for c in unbacked)))
    if problems:
        none = bool(missing) and len(missing) == len(expect.facts)  # FORMATS.md: all: fail
        return Dimension("fail" if none or unbacked else "partial", "; ".join(problems),
                         _excerpt(reply))
    if expect.outcome == "escalate" and run.outcome == "resolve" and _uncovered(case, store):
        return Dimension("partial", "answers a question the fixture gives to a person and no"
                         " escalation rule covers, so the KB does not cover it: nothing served"
                         " backs the answer", _excerpt(reply))
    return Dimension("pass", "states every expected fact" if expect.facts else "no error found")


def _uncovered(case: Case, store: Store) -> bool:
    """A hand-off the fixture expects for no topic and no request for a person: the question
    is one the shop's KB does not cover ("do you do wholesale?", "a good cafe in Lisbon?")."""
    rules = store.agent.escalation.model_copy(update={"min_confidence": 0.0})
    return rule_decision(rules, case.conversation, ()) is None


def _kb_wordings(fact: str, store: Store, case: Case, run: Run) -> list[str]:
    """What a `/regex/` fact matches in the articles it comes from: its meaning in plain
    words, so a reply can state it in another form ("24 months" for /2[- ]year/)."""
    if not is_regex(fact):
        return []
    ids = case.expect.articles or run.served
    found = []
    for article in (store.article(i) for i in ids):
        wording = _wording(fact, article.body) if article else None
        if wording:
            found.append(wording)
    return found


@lru_cache(maxsize=4096)
def _wording(fact: str, body: str) -> str | None:
    """The text a `/regex/` fact matches in an article's body: the same fact and article come
    back case after case (every served article, when a fixture names none)."""
    match = find_phrase(fact, body)
    return match.group(0) if match else None


def _replaced(fact: str, wordings: list[str], checked: list[Claim], store: Store,
              run: Run) -> tuple[str, str] | None:
    """A claim in the place of a missing expected figure: "350°F" where the fixture
    expects "450°F", about the same subject as the KB sentence stating the fact."""
    currency = store.catalog.currency
    wanted = [f for w in (fact, *wordings) if not is_regex(w)
              for f in figures_in(to_digits(w), currency) if f.kind != "count"]
    if not wanted:
        return None
    subjects = _stating_sentences(wanted, store, run) or [fact]
    for figure in wanted:
        for claim in checked:
            if unit_of(claim.figure) != unit_of(figure) or figures_agree(claim.figure, figure):
                continue
            near = key_words(claim.sentence)
            if any(len(near & key_words(s)) >= 2 for s in subjects):
                return (f"states {claim.figure.shown()!r} where the fixture expects {fact!r}",
                        claim.sentence)
    return None


def _stating_sentences(wanted: list[Figure], store: Store, run: Run) -> list[str]:
    found = []
    for article in (store.article(i) for i in run.served):
        for sentence in sentences(article.body) if article else ():
            figures = figures_in(to_digits(sentence), store.catalog.currency)
            if any(figures_agree(w, f) for w in wanted for f in figures):
                found.append(sentence)
    return found


def _missing_reason(fact: str, store: Store, case: Case) -> str:
    expected = case.expect.articles or tuple(a.id for a in store.articles)
    sources = _articles_stating(fact, store, expected)
    if sources:
        return f"{fact!r} (stated in article {', '.join(sources)})"
    if case.expect.articles:
        return f"{fact!r} (article {', '.join(case.expect.articles)} no longer states it)"
    return repr(fact)


def grade_relevance(case: Case, run: Run, store: Store) -> Dimension:
    """Whether the reply answers what the customer's last turn asks, every question of it.

    Fail: empty, a hand-off of a question the KB answers, or no question answered; partial:
    a question (sub-question) skipped, or an answer where the case needs a person. Whether
    retrieval found the expected articles is reported, as a retrieval problem, not graded.
    """
    if not run.reply.strip():
        return Dimension("fail", "the reply is empty")
    expected = case.expect.outcome
    retrieval = _retrieval_note(case, run)
    if run.outcome == "escalate":
        if expected == "escalate":
            return Dimension("pass", "handed off, as the question needs a person")
        what = "hands off the question" if retrieval else "hands off a question the KB answers"
        return Dimension("fail", what + retrieval, _excerpt(run.reply))
    asked = questions(case.last_customer_text)
    body = without_deflection(_body(run.reply, store.agent.tone))
    skipped = [q for q in asked if not answers(body, q, store.catalog.currency)]
    if len(asked) == 1 and skipped and _draws_on_expected(case, run, store, body):
        skipped = []  # in other words than the question's, from the article that answers it
    if expected == "escalate" and _asks_for_person(case, store):
        return Dimension("partial", "answers on after the customer asked for a person"
                         + retrieval, _excerpt(run.reply))
    if not skipped:
        how = "every question" if len(asked) > 1 else "the question"
        return Dimension("pass", f"answers {how}{retrieval}")
    grade: Grade = "fail" if len(skipped) == len(asked) else "partial"
    detail = "; ".join(repr(q.text) for q in skipped)
    what = "answers none of" if grade == "fail" else f"skips {len(skipped)} of"
    return Dimension(grade, f"{what} the {len(asked)} questions asked: {detail}{retrieval}",
                     _excerpt(run.reply))


def _draws_on_expected(case: Case, run: Run, store: Store, body: str) -> bool:
    articles = (store.article(a) for a in case.expect.articles)
    return any(a is not None and draws_on(body, a.body) for a in articles)


def without_deflection(reply: str) -> str:
    """The reply without the sentences that send the customer elsewhere ("check our returns
    policy page", "contact our support team"): they answer nothing themselves."""
    return " ".join(s for s in sentences(reply) if not DEFLECTS.search(s))


def _asks_for_person(case: Case, store: Store) -> bool:
    phrases = (*ASKS_FOR_PERSON, *store.agent.escalation.request_phrases)
    return any(phrase_in(p, case.last_customer_text) for p in phrases)


def _retrieval_note(case: Case, run: Run) -> str:
    """A retrieval problem, named as such: the expected article was not retrieved."""
    retrieved = {r.id for r in run.retrieved}
    missed = [a for a in case.expect.articles if a not in retrieved]
    if not missed or not (run.retrieved or run.served):
        return ""
    unserved = [a for a in missed if run.served and a not in run.served]
    if unserved:
        return (f" (retrieval problem: article {', '.join(unserved)} is not served on"
                f" {run.as_of})")
    return f" (retrieval problem: article {', '.join(missed)} was not retrieved)"


_SIGN_WORD = re.compile(r"[\w&'@.]+")
# Registers wrong for any brand whose voice does not ask for them (general English).
_LEGAL = re.compile(r"\b(pursuant to|hereby|herein|heretofore|aforementioned|shall not|"
                    r"please be advised|irrespective of|save where|in accordance with|"
                    r"notwithstanding)\b", re.IGNORECASE)
_BLAME = re.compile(r"\b(that one's on you|that's on you|your (own )?fault|you should have|"
                    r"you must have|you obviously|read up|next time,? (please )?(read|check)|"
                    r"you (probably|clearly) (dropped|broke|damaged|misused))\b", re.IGNORECASE)


def _uses(phrase: str, reply: str) -> bool:
    """A banned phrase used as words: "kindly" is not in "unkindly"."""
    if is_regex(phrase):
        return phrase_in(phrase, reply)
    return phrase_in(rf"/(?<!\w){re.escape(normalize(phrase))}(?!\w)/", normalize(reply))


def _wrong_register(reply: str, voice: str) -> str | None:
    if (found := _LEGAL.search(reply)) and not re.search(r"formal|legal", voice, re.I):
        return f"stiff legal prose ({found.group(0)!r}) for a {voice or 'plain'} voice"
    if found := _BLAME.search(reply):
        return f"blames the customer ({found.group(0)!r})"
    return None


def signs_off(reply: str, sign_off: str) -> bool:
    """The sign-off's words end the reply, whatever the case, the dash before them, trailing
    punctuation or Markdown emphasis."""
    want = [w.lower().strip(".") for w in _SIGN_WORD.findall(sign_off)]
    have = [w.lower().strip(".") for w in _SIGN_WORD.findall(normalize(reply))]
    want, have = [w for w in want if w], [w for w in have if w]
    return bool(want) and have[-len(want):] == want


def grade_tone(case: Case, run: Run, tone: Tone) -> Dimension:
    tone = case.expect.tone.apply(tone)
    reply = run.reply
    for phrase in tone.banned_phrases:
        if _uses(phrase, reply):
            return Dimension("fail", f"uses the banned phrase {phrase!r}",
                             _sentence_with(reply, phrase))
    register = _wrong_register(reply, tone.voice or "")
    if register:
        return Dimension("fail", register, _excerpt(reply))
    if not tone.emoji and (emoji := _EMOJI.search(reply)):
        return Dimension("fail", f"uses emoji ({emoji.group(0)}) where the tone profile has none",
                         _excerpt(reply))
    problems, worst = [], "partial"
    words = len(reply.split())
    if tone.max_words and words > tone.max_words:
        problems.append(f"{words} words, over the limit of {tone.max_words}")
        if words > tone.max_words * 1.2:
            worst = "fail"
    if tone.sign_off and not signs_off(reply, tone.sign_off):
        problems.append(f"does not end with the sign-off {tone.sign_off!r}")
    if not problems:
        return Dimension("pass", "keeps to the tone profile")
    grade: Grade = "fail" if worst == "fail" or len(problems) > 1 else "partial"
    return Dimension(grade, "; ".join(problems), _excerpt(reply[-200:]))


# Sending the customer elsewhere for what the answer should give, and claiming an action the
# agent has no tool for (general English, no store).
DEFLECTS = re.compile(
    r"\b(?:contact|reach out to|get in touch with|message|email|call)\s+(?:our|the)\s+"
    r"(?:support|customer (?:service|care)|help|care|service)(?:\s+team)?\b"
    r"|\b(?:check|see|visit|look at|head to|take a look at|refer to)\s+(?:our|the)\s+"
    r"(?:[\w&'-]+\s+){0,2}?(?:polic(?:y|ies)|faqs?|website|site|help cent(?:er|re))\b",
    re.IGNORECASE,
)
CLAIMED_ACTION = re.compile(
    r"\b(?:I've|I have|we've|we have|I just|I've just|we've just)\s+(?:\w+\s+)?"
    r"(?:refunded|issued|applied|added|reserved|held|cancelled|canceled|"
    r"credited|changed|updated|upgraded|waived|(?:put|set)\s+(?:[\w-]+\s+){0,3}?aside)\b",
    re.IGNORECASE,
)
# An outcome promised as already under way, which only a tool could have set going.
PROMISED = re.compile(
    r"\b(?:a|the|your)\s+(?:full\s+)?refund\s+(?:is|'s|has been|have been)\s+(?:already\s+)?"
    r"(?:on its way|issued|sent|approved|been processed)\b",
    re.IGNORECASE,
)


# "After we have issued the refund, your bank takes 3-5 days": a step of the process the KB
# describes, said in a time or condition clause, is not a claim that it was done.
_NOT_YET = re.compile(r"\b(?:after|once|when|whenever|if|until|till|before|as soon as|"
                      r"unless|by the time)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def said_done(reply: str) -> str | None:
    """The first phrase of `reply` that says an action was done for the customer, outside
    a time or condition clause."""
    for pattern in (CLAIMED_ACTION, PROMISED):
        for found in pattern.finditer(reply):
            before = re.split(r"[.!?;,:\n]", reply[:found.start()])[-1]
            if not _NOT_YET.search(before):
                return found.group(0)
    return None


def claimed_action(reply: str, run: Run, agent: AgentConfig) -> str | None:
    """What the reply says was done for the customer ("I've put a pair aside", "a refund is
    on its way") when no action tool ran: not true, whatever the KB says."""
    actions = {t.name for t in agent.tools if t.kind == "action"}
    if any(use.name in actions for use in run.tools):
        return None
    return said_done(reply)


def grade_resolution(case: Case, run: Run, agent: AgentConfig | None = None) -> Dimension:
    expected = case.expect.outcome
    forbidden = check_tools(case, run).forbidden
    if forbidden:
        return Dimension("fail", f"called {', '.join(forbidden)}, which the case forbids"
                         " (expect.tools.not_called)", _excerpt(run.reply))
    done = actions_done(case, run, agent) if agent else []
    if done and expected == "resolve":
        how = "" if run.outcome == "resolve" else f", then escalated ({run.why})"
        return Dimension("pass", f"resolved: did {', '.join(done)} as the customer asked{how}")
    actions = {t.name for t in agent.tools if t.kind == "action"} if agent else set()
    acted = any(use.name in actions for use in run.tools)  # it had the tool: not a false claim
    if run.outcome == "resolve" and not acted and (claimed := said_done(run.reply)):
        return Dimension("fail", f"claims an action the agent cannot take ({claimed!r})",
                         _sentence_with(run.reply, claimed))
    if run.outcome == expected == "resolve" and (sent := DEFLECTS.search(run.reply)):
        return Dimension("partial", f"sends the customer elsewhere ({sent.group(0)!r}) for what"
                         " the KB answers", _sentence_with(run.reply, sent.group(0)))
    if run.outcome == expected:
        verb = "resolved" if expected == "resolve" else f"escalated ({run.why})"
        return Dimension("pass", f"{verb}, as expected")
    if run.outcome == "escalate":
        return Dimension("fail", f"escalated but should have resolved: {run.why}")
    return Dimension("fail", "resolved but should have escalated to a person", _excerpt(run.reply))


def grade_run(
    case: Case, run: Run, store: Store, judge: Mapping[str, tuple[str, str]] | None = None
) -> Graded:
    """The rubric's grades of one run; `judge` holds the LLM judge's (grade, reason) if asked."""
    if run.error:
        return Graded(case.case_id, error=run.error)
    rules = {
        "accuracy": grade_accuracy(case, run, store),
        "relevance": grade_relevance(case, run, store),
        "tone": grade_tone(case, run, store.agent.tone),
        "resolution": grade_resolution(case, run, store.agent),
    }
    judged = judge or {}
    grades = {name: with_judge(rule, judged.get(name)) for name, rule in rules.items()}
    weights = store.agent.rubric.weights
    return Graded(case.case_id, grades, score_of(grades, weights), is_review(grades),
                  judge={name: verdict[0] for name, verdict in judged.items()})
