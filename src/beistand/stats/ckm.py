"""Cell key method (CKM): consistent noise on every published count (issue 16, finding 3).

Modelled on the method of the German statistical offices (used for the Zensus 2022). Each
report (and each help request) has a secret, pseudo-random **record key** in ``[0, P)``,
computed in the database as ``(id * A + B) mod P`` (P = 2^31 − 1; A and B derived from
``SECRET_KEY``, so nobody outside the server can compute a key). A published cell — a count in a
table, a key figure, a total — sums the keys of the records it counts; its **cell key** is that
sum mod P, divided by P. The cell key picks the noise from a fixed distribution
(``BEISTAND_STATS_NOISE`` = D: the values −D … +D with triangular weights D + 1 − |v|):

* the same set of records always gets the same cell key, hence the same noise (asking again, or
  in another table, gives nothing new);
* two cells that differ by one record have unrelated cell keys, so the difference of two
  overlapping queries carries the noise of both (up to ±2D) and does not reveal the record.

Every count n ≥ 1 is perturbed, small ones too (n < D: triangular on −n … +n, so a true 1 can
be published as 0 and never below 0); the caller suppresses the *published* value below k
("<k"), so neither a shown 0 nor a difference of 0 proves that no record is there. Sums
(incapacity days) get ``v · max(3, ⌈10 % of the sum⌉)``, never below zero.

**Fixed base cells** (review of finding 3, item 4): every figure is computed per calendar month
of the incident and published as the sum of the perturbed month cells (``add_cells``). A range
of months is therefore a sum of fixed cells: two overlapping ranges differ by the published
value of the months between them – the same value for every such pair – so averaging over many
overlapping ranges removes no noise.
"""

import hashlib
import hmac
import math

from django.conf import settings
from django.db.models import BigIntegerField, ExpressionWrapper, F, Value
from django.db.models.functions import Cast

P = 2_147_483_647  # 2^31 - 1, a prime


def _secret_params() -> tuple[int, int, int]:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"beistand.stats.ckm/2",
                      hashlib.sha256).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (P - 1)
    c = 1 + int.from_bytes(digest[8:16], "big") % (P - 1)
    b = int.from_bytes(digest[16:24], "big") % P
    return a, b, c


def record_key(field: str = "pk"):
    """The record key as a database expression (summed per cell by the aggregate queries):
    ``(A·id² + C·id + B) mod P`` with secret A, B, C, every product reduced mod P so it stays
    below 2^62 (SQLite and PostgreSQL 64-bit integers). The square makes the keys of
    consecutive ids unrelated (a linear ``A·id + B`` gave an arithmetic progression, so cells
    with similar ids had similar cell keys and similar noise)."""
    a, b, c = _secret_params()
    x = Cast(F(field), BigIntegerField()) % Value(P)  # 64-bit arithmetic on PostgreSQL too
    square = (x * x) % Value(P)
    expr = ((square * Value(a)) % Value(P) + (x * Value(c)) % Value(P) + Value(b)) % Value(P)
    return ExpressionWrapper(expr, output_field=BigIntegerField())


def record_key_of(pk: int) -> int:
    """The same key in Python (tests)."""
    a, b, c = _secret_params()
    x = pk % P
    return ((x * x % P) * a % P + x * c % P + b) % P


def max_deviation() -> int:
    return max(0, int(settings.STATS_NOISE))


def noise(key_sum: int | None) -> int:
    """The noise of a cell from the sum of its record keys (deterministic)."""
    d = max_deviation()
    if d == 0 or key_sum is None:
        return 0
    return _triangular(key_sum, d)


def _triangular(key_sum: int, width: int) -> int:
    """The cell key's draw from the triangular distribution on −width … +width (weights
    width + 1 − |v|)."""
    cell_key = (int(key_sum) % P) / P
    values = range(-width, width + 1)
    weights = [width + 1 - abs(v) for v in values]
    total = sum(weights)
    running = 0.0
    for value, weight in zip(values, weights, strict=True):
        running += weight / total
        if cell_key < running:
            return value
    return width


def small_noise(n: int, key_sum: int | None) -> int:
    """The noise of a cell with 0 < n < D: triangular on −n … +n (weights n + 1 − |v|), so the
    published value n + v is never negative and its mean is n (unbiased); n = 1 shows as 0, 1 or
    2 (1/4, 1/2, 1/4)."""
    if key_sum is None or n <= 0:
        return 0
    return _triangular(key_sum, n)


def perturb(n: int, key_sum: int | None, k: int | None = None) -> int:
    """A published count: n + noise for every n ≥ 1, small counts included (so a true 1 can be
    published as 0: neither a shown 0 nor a difference of 0 proves that no record is there);
    never negative; 0 (no record) stays 0. ``k`` is unused (suppression is applied to the
    published value by the caller)."""
    n = int(n or 0)
    if n <= 0:
        return 0
    d = max_deviation()
    if d == 0:
        return n
    if n < d:
        return n + small_noise(n, key_sum)
    return n + noise(key_sum)


def perturb_sum(total: int, key_sum: int | None) -> int:
    """A published sum (incapacity days): noise scaled to the sum, never negative."""
    total = int(total or 0)
    if total == 0:
        return 0
    step = max(3, math.ceil(total * 0.1))
    return max(0, total + noise(key_sum) * step)


def add_cells(cells) -> int:
    """A figure over several fixed base cells (calendar months): the sum of their published
    values. Two ranges that differ by one month differ by exactly that month's published value,
    the same for every pair – averaging over many overlapping ranges gives nothing new."""
    return sum(int(v) for v in cells)
