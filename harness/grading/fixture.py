"""Grade one reply with the rubric (FORMATS.md, "Rubric"), with no LLM.

Each dimension is pass / partial / fail with a reason a support coach can act on. Graders
are pure functions of the case, the run and the store; they never change their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from harness.agent.run import Run
from harness.grading.catalog_check import catalog_claims
from harness.grading.orders import order_claims
from harness.grading.overlap import draws_on
from harness.grading.rubric import Dimension, Grade, Graded, is_review, score_of, with_judge
from harness.grading.tools import actions_done, check_tools
from harness.store.loading import Store
from harness.store.schema import AgentConfig, Case, Tone
from harness.text.matching import excerpt, find_phrase, normalize, phrase_in
from harness.text.sentences import sentences
from harness.text.tokens import tokenize

__all__ = ["grade_accuracy", "grade_relevance", "grade_resolution", "grade_run", "grade_tone"]

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
            reply = reply.replace(phrase, " ")
    return reply


def grade_accuracy(case: Case, run: Run, store: Store) -> Dimension:
    reply, expect = run.reply, case.expect
    for phrase in expect.forbidden:
        if phrase_in(phrase, reply):
            sources = _articles_stating(phrase, store, run.served)
            where = f" (it comes from article {', '.join(sources)})" if sources else ""
            return Dimension("fail", f"states {phrase!r}, which the fixture forbids{where}",
                             _sentence_with(reply, phrase))
    checked = check_tools(case, run)
    if checked.missing:
        return Dimension("fail", f"did not call {', '.join(checked.missing)}, which the case"
                         " requires (expect.tools.called): the reply is not based on the record",
                         _excerpt(reply))
    order = order_claims(_body(reply, store.agent.tone), run, store.agent, store.catalog)
    if order:
        problems = "; ".join(dict.fromkeys(c.problem for c in order))
        return Dimension("fail", f"tool results: {problems}", order[0].text)
    claims = catalog_claims(_body(reply, store.agent.tone), store.catalog)
    if claims:
        problems = "; ".join(dict.fromkeys(c.problem for c in claims))
        return Dimension("fail", f"catalog: {problems}", claims[0].text)
    missing = [f for f in expect.facts if not phrase_in(f, reply)]
    if not missing:
        return Dimension("pass", "states every expected fact" if expect.facts else "no error found")
    detail = "; ".join(_missing_reason(f, store, case) for f in missing)
    grade: Grade = "partial" if len(missing) < len(expect.facts) else "fail"
    return Dimension(grade, f"missing {len(missing)} of {len(expect.facts)} facts: {detail}",
                     _excerpt(reply))


def _missing_reason(fact: str, store: Store, case: Case) -> str:
    expected = case.expect.articles or tuple(a.id for a in store.articles)
    sources = _articles_stating(fact, store, expected)
    if sources:
        return f"{fact!r} (stated in article {', '.join(sources)})"
    if case.expect.articles:
        return f"{fact!r} (article {', '.join(case.expect.articles)} no longer states it)"
    return repr(fact)


def grade_relevance(case: Case, run: Run, store: Store) -> Dimension:
    """Fail: no expected article used, or nothing asked is answered; partial: some missed."""
    if not run.reply.strip():
        return Dimension("fail", "the reply is empty")
    if run.outcome == "escalate" and case.expect.outcome == "escalate":
        return Dimension("pass", "handed off, as the question needs a person")
    retrieved = {r.id for r in run.retrieved}
    problems = []
    for article_id in case.expect.articles:
        article = store.article(article_id)
        if article_id not in retrieved:
            problems.append(f"article {article_id} was not retrieved")
        elif article is None or not draws_on(run.reply, article.body):
            problems.append(f"the reply does not draw on article {article_id}")
    asked = set(tokenize(case.last_customer_text))
    answered = not asked or bool(asked & set(tokenize(_body(run.reply, store.agent.tone))))
    if not answered:
        problems.append("the reply shares no key word with the customer's question")
    if not problems:
        return Dimension("pass", "answers the question from the expected articles"
                         if case.expect.articles else "answers the question")
    article_problems = len(problems) - (not answered)
    drew_on_some = article_problems < len(case.expect.articles)
    missed_all = bool(case.expect.articles) and not drew_on_some
    grade: Grade = "fail" if missed_all or not (answered or drew_on_some) else "partial"
    return Dimension(grade, "; ".join(problems), _excerpt(run.reply))


def grade_tone(case: Case, run: Run, tone: Tone) -> Dimension:
    tone = case.expect.tone.apply(tone)
    reply = run.reply
    for phrase in tone.banned_phrases:
        if phrase_in(phrase, reply):
            return Dimension("fail", f"uses the banned phrase {phrase!r}",
                             _sentence_with(reply, phrase))
    if not tone.emoji and (emoji := _EMOJI.search(reply)):
        return Dimension("fail", f"uses emoji ({emoji.group(0)}) where the tone profile has none",
                         _excerpt(reply))
    problems, worst = [], "partial"
    words = len(reply.split())
    if tone.max_words and words > tone.max_words:
        problems.append(f"{words} words, over the limit of {tone.max_words}")
        if words > tone.max_words * 1.2:
            worst = "fail"
    if tone.sign_off and not normalize(reply).endswith(normalize(tone.sign_off)):
        problems.append(f"does not end with the sign-off {tone.sign_off!r}")
    if not problems:
        return Dimension("pass", "keeps to the tone profile")
    grade: Grade = "fail" if worst == "fail" or len(problems) > 1 else "partial"
    return Dimension(grade, "; ".join(problems), _excerpt(reply[-200:]))


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
