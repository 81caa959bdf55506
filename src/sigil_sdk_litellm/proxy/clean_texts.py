"""Texts already found free of secrets (bounded): an agent chat resends its whole history every turn.

Whether sigil-sdk's sanitizer changes a text depends on that text alone, so a text found clean once is
clean on every later event, and :class:`~sigil_sdk_litellm.proxy.secret_redaction.SecretRedactor` scans
only the texts it has not seen. Only clean texts are kept: a text holding a secret is never held past
its event, and is scanned again each time it comes back.

Two generations of sets, not a least-recently-used list: a lookup of a whole event's texts is a few set
operations in C, with no per-text bookkeeping. Texts go into the recent set; when it holds half the
budget it becomes the older set (the previous older one is dropped), and a text found only in the older
set moves back to the recent one. So at most ``budget`` bytes are held, and a conversation that came
back within the last half budget of new texts is still known.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable

DEFAULT_BUDGET = 4 << 20  # bytes, the texts' objects and their set slots (bench/clean_texts_memory.py)
SLOT_OVERHEAD = 40  # a set slot and its share of the table's spare room, per text


class CleanTexts:
    """A bounded set of texts known to hold no secret (see the module doc)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.size = 0  # bytes held by the recent set
        self._recent: set[str] = set()
        self._older: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._recent | self._older)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._recent or text in self._older

    def unknown(self, texts: Iterable[str]) -> list[str]:
        """The distinct texts of ``texts`` not known to be clean, in their first order."""
        unique = dict.fromkeys(texts)
        with self._lock:
            missing = unique.keys() - self._recent
            if not missing:
                return []
            known = missing & self._older
            if known:
                self._add(known)
                missing -= known
        return [text for text in unique if text in missing] if missing else []

    def add(self, texts: Iterable[str]) -> None:
        """Remember ``texts`` as clean (the caller found none of them holding a secret)."""
        with self._lock:
            self._add(set(texts) - self._recent)

    def _add(self, texts: set[str]) -> None:
        cost = sum(map(sys.getsizeof, texts)) + SLOT_OVERHEAD * len(texts)
        if 2 * cost > self.budget:  # more than a generation holds: keep none of them
            return
        if 2 * (self.size + cost) > self.budget:
            self._older, self._recent, self.size = self._recent, set(), 0
        self._recent |= texts
        self.size += cost
