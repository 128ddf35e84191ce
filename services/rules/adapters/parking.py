"""The facts of a plan's spread parts, held between being made and being asserted.

A large plan's long lists (a bank's financings, a brand's production locations: the kinds in
`vocabulary.SHARD_KEYS`) give more facts than one engine state holds, and the engine adapter
asserts them state by state (durable_engine.py). Held as dicts all at once, a million
financings' 1.75 million facts took 0.9 GB beside the plan. So once they outgrow `spill_at`
facts (durable_engine.PARK_FACTS_AT) they are parked:

- spread over buckets by their part's key: every fact of one part in the same bucket, so that
  a part is never split over states;
- each bucket's facts pickled and compressed in chunks as they come: about 20 bytes a fact on
  the bench's banks, whose financings differ little, against 500 as a dict;
- read back a bucket at a time when the states are asserted.

Up to `spill_at` they stay as they were made, in their order, and are read back as one group,
without the cost of parking (about 3 us a fact).

Pickle, not JSON: the chunks never leave the process (nothing read from outside is unpickled),
and pickle gives back every value as it was (an integer beyond 64 bits, a date).
"""

import pickle
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Fact = dict[str, Any]

# a bucket's facts are compressed this many at a time: 64 financing facts pickle to about
# 20 KB and compress to about 1 KB (fewer compress worse; more wait longer as dicts)
CHUNK = 64
# buckets per part of the plan's long lists: about 2,000 parts (and their links) a bucket,
# so that buckets fill a state of 20,000 facts closely when packed into it, and few buckets
# wait with a chunk half full (a million financings: 500 buckets, about 8 MB waiting)
PARTS_PER_BUCKET = 2_000
_LEVEL = 1  # zlib's fastest: level 6 saves a tenth of the bytes for twice the time


class Parked:
    """Facts of spread kinds, kept until asserted (see the module's description). `keys`: the
    field naming each spread kind's part (SHARD_KEYS); `parts`: how many parts the plan's long
    lists hold, which sizes the buckets (asked only when the facts are parked)."""

    def __init__(self, keys: Mapping[str, str], spill_at: int, parts: Callable[[], int]):
        self._keys = keys
        self._spill_at = spill_at
        self._parts = parts
        self._buckets = 1
        self._made: list[Fact] = []  # until spilled: every fact, in the order made
        self._pending: list[list[Fact]] = []  # once spilled: per bucket, not yet compressed
        self._chunks: list[list[bytes]] = []  # once spilled: per bucket, compressed
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def spilled(self) -> bool:
        return bool(self._pending)

    def add(self, fact: Fact) -> None:
        self._count += 1
        if not self._pending:
            self._made.append(fact)
            if len(self._made) > self._spill_at:
                self._spill()
            return
        self._park(fact)

    def groups(self) -> Iterator[list[Fact]]:
        """The facts, a group at a time, each part's in one group, each group's in the order
        they were made: one group while they are few; else a bucket at a time, read back."""
        if not self._pending:
            if self._made:
                yield self._made
            return
        for chunks, pending in zip(self._chunks, self._pending, strict=True):
            group = [fact for chunk in chunks for fact in pickle.loads(zlib.decompress(chunk))]
            group += pending
            if group:
                yield group

    def _spill(self) -> None:
        self._buckets = max(1, -(-self._parts() // PARTS_PER_BUCKET))
        made, self._made = self._made, []
        self._pending = [[] for _ in range(self._buckets)]
        self._chunks = [[] for _ in range(self._buckets)]
        for fact in made:
            self._park(fact)

    def _park(self, fact: Fact) -> None:
        key = fact.get(self._keys[fact["kind"]])
        # crc32 of the key's text, not hash(): the same buckets in every process
        text = key if isinstance(key, str) else repr(key)
        n = zlib.crc32(text.encode()) % self._buckets
        pending = self._pending[n]
        pending.append(fact)
        if len(pending) == CHUNK:
            self._chunks[n].append(zlib.compress(pickle.dumps(pending, pickle.HIGHEST_PROTOCOL),
                                                 _LEVEL))
            pending.clear()
