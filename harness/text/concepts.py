"""The words a shop's KB uses for what a customer says in other words.

Customers write "send them back", "money back", "a hole in the sleeve"; help-centre articles
say "return", "refund", "damaged or faulty". A lexical retriever (and the lexical reference
model) cannot bridge that without help, so a question is expanded with the support vocabulary
its phrases stand for. The table is the generic vocabulary of ecommerce support (returns,
refunds, delivery, payment, damage, sizing, loyalty, codes, gift cards, accounts), not the
wording of any one store; expansions only add words, never remove the customer's own.
"""

from __future__ import annotations

import re
from functools import lru_cache

from harness.text.tokens import tokenize

__all__ = ["expansion"]

_CONCEPTS: tuple[tuple[str, str], ...] = (
    (r"\bsend(ing)? (it|them|this|that|\w+ \w+|\w+) back\b|\bgive (it|them) back\b|"
     r"\bbring (it|them) back\b|\bship (it|them) back\b|\bsend back\b", "return returns"),
    (r"\bmoney back\b|\bget (my )?money\b|\breimburs\w*|\bpaid back\b|\bcredited\b",
     "refund refunds"),
    (r"\bswap\w*\b|\bchange (it|them|the size|size|sizes)\b|\bdifferent size\b|"
     r"\b(other|another|bigger|smaller) size\b", "exchange size"),
    (r"\b(hole|holes|ripped|rip|torn|tear|broken|broke|smashed|cracked|dented|scratched|"
     r"faulty|defect\w*|leak\w*|split|snapped|stopped working|not working|doesn'?t work|"
     r"won'?t work|fell apart|falling apart|came apart|peeling)\b", "damaged faulty"),
    (r"\b(too (small|big|large|tight|loose|short|long)|does ?n[o']?t fit|do ?n[o']?t fit|"
     r"fits?|fitting|came up (big|small|large|massive|tiny))\b", "size fit"),
    (r"\b(postage|p&p|shipping|ship|ships|shipped|deliver\w*|courier|post)\b",
     "delivery shipping"),
    (r"\b(how much|price|prices|cost|costs|fee|fees|charge|charges|pay for)\b", "cost price"),
    # "how long do I have to use it?", "how long is it good for?": how long it stays valid
    (r"\b(expire|expires|expiry|expiration|expired|run out|valid|validity)\b|\bhow long "
     r"(do|does|have|will|would) (i|we|you|they|she|he) (have|got|get) to (use|spend|redeem)\b|"
     r"\bhow long (is|are|will) (it|they|this|that|the \w+( \w+)?) (be )?(good|last)\b",
     "expire valid"),
    (r"\b(voucher|coupon|promo|promotional|discount code|code)\b", "code discount"),
    # "points", "1 point", "my point balance"; not "is there a point where it becomes free"
    (r"\bpoints\b|\b(\d+|one|a single|my|your) point\b|\bpoint balance\b|\brewards?\b|"
     r"\bloyalty\b", "points rewards loyalty"),
    (r"\b(free|complimentary|no charge|at no cost|on the house|on us)\b", "free complimentary"),
    # whether something costs: the answer may be that it is free
    (r"\bis there (a|any) (fee|charge|cost)\b|(?<!much )\b(do|does|will) (you|it|they|that) "
     r"(charge|cost)( (anything|extra))?\b|\bdo i (have to|need to) pay\b",
     "fee cost free complimentary"),
    # using points is spending or redeeming them, whichever word the shop's KB uses
    (r"\b(use|using|spend|spending|redeem\w*|cash in) (them|my points|the points|points|my "
     r"(paw |loyalty |reward |rewards )?points)\b", "spend redeem use"),
    (r"\b(get|earn|receive) (anything|something)\b(?! (off|back))|\bwhat do i get\b|"
     r"\bis there (a|any) (reward|incentive|bonus)\b", "earn reward points"),
    (r"\b(cancel\w*|stop (the|my) order|change (my|the) order|amend\w*|edit (my|the) order)\b",
     "cancel change order"),
    (r"\b(where is|where's|track\w*|not (arrived|here|come|turned up)|has ?n[o']?t "
     r"(arrived|come|turned up)|lost|missing|stolen|nicked)\b", "tracking missing parcel"),
    (r"\b(instal?ments?|pay later|split (the )?payment|spread the cost)\b", "instalments pay"),
    (r"\b(declined|rejected|won'?t go through|didn'?t go through|failed payment)\b",
     "declined payment"),
    (r"\b(password|log ?in|sign ?in|account)\b", "account password"),
    (r"\b(when|how long|how soon|how quickly)\b", "days time"),
    (r"\b(is|are|'s) left\b|\bleft over\b|\bleftover\b|\bremaining\b|\bstill (full|has|have)\b",
     "remains remaining"),
    (r"\b(used|tried|opened|wore|worn) (it|them|this|that|once|twice)\b|\bopened\b|"
     r"\b(\w+|a few|couple of) times\b", "opened used"),
    (r"\b(still )?sealed\b|\bunopened\b|\bunused\b|\bnever (been )?(used|opened|worn)\b|"
     r"\b(still )?in (the|its|their) (box|packaging|wrapping|cellophane)\b|\bwith tags\b",
     "unopened unused"),
    (r"\b(xmas|christmas)\b", "christmas holiday"),
    # how two things differ, asked or told: "how is it different from ...", "it builds on the
    # Crema One with ...", "unlike the S2"
    (r"\b(differen\w*|compar\w*|versus|vs|better than|worse than|unlike|whereas|builds? on|"
     r"on top of the|same as)\b", "compare difference"),
    # a product no longer made or sold, whichever word the shop uses for it
    (r"\b(do ?n[o']?t|does ?n[o']?t|not) (sell|make|stock|carry) (it|them|this|that|those|"
     r"these|the \w+) ?any ?more\b|\bno longer (sell|make|stock|carry|available|sold|made)\b|"
     r"\bstopped (selling|making|stocking)\b|\bdiscontinu\w*|\bretired\b",
     "discontinued retired"),
    # buying one more of it: answered by whether it is still available
    (r"\b(buy|get|order) (another|a new|a replacement)( one)?\b|\b(buy|order) (it|one|them) "
     r"again\b", "available stock"),
    # where a product is used: "in my bedroom", "no garden or balcony"
    (r"\bindoors?\b|\binside\b|\bin (my|the|a|our) (bed ?room|room|flat|apartment|house|home|"
     r"kitchen|bathroom|office)\b", "indoors inside room space"),
    (r"\b(outdoors?|outside|garden|balcony|yard|patio|terrace)\b", "outside outdoors"),
    # the season's sale days, whatever the shop calls its event
    (r"\b(black friday|cyber monday|black week|bfcm|boxing day)\b",
     "sale event offer promotion black friday black week cyber monday"),
    (r"\b(austria|belgium|bulgaria|croatia|cyprus|czechia|czech republic|denmark|estonia|"
     r"finland|france|germany|greece|hungary|italy|latvia|lithuania|luxembourg|malta|"
     r"netherlands|holland|poland|portugal|romania|slovakia|slovenia|spain|sweden)\b",
     "eu europe european international"),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), words) for pattern, words in _CONCEPTS)


@lru_cache(maxsize=8192)
def expansion(text: str) -> tuple[str, ...]:
    """The stemmed support words that `text`'s phrases stand for, not already in it."""
    own = set(tokenize(text))
    found: list[str] = []
    for pattern, words in _COMPILED:
        if pattern.search(text):
            found += [w for w in tokenize(words) if w not in own and w not in found]
    return tuple(found)
