"""English given names and their nicknames (Bill / William, Kate / Katherine, Jake / Jacob).

A list that records a person more than once may write the given name in full on one record
and as a nickname on another. The relation comes from the hand-curated table of the
``nicknames`` package (Northern & Crews, Apache-2.0): for a name, its canonical names and
its nicknames. Two given names are *nickname-related* when one is among the other's
variants (:func:`given_variants`); the relation is used directly, not its transitive
closure, which would join unrelated names through ambiguous short forms (Bert: Albert,
Herbert, Hubert, ...).

On Splink's historical_50k, among record pairs with the same family name and different
given names, 32% of the true pairs and 0.43% of the others are nickname-related.

References
----------
Northern, C. & Crews, N. *nicknames: a hand-curated dataset of English names and nicknames*.
https://github.com/carltonnorthern/nicknames
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["given_variants", "nickname_related"]


@lru_cache(maxsize=1)
def _namer():
    from nicknames import NickNamer  # reads its table once, on first use

    return NickNamer()


@lru_cache(maxsize=65536)
def given_variants(name: object) -> str | None:
    """The nicknames and canonical names of a Latin given name, sorted and space-separated
    (lower case); None when the table knows none or ``name`` is not a one-word Latin name.

    >>> given_variants("kate").split()[:3]
    ['katelin', 'katelyn', 'katherine']
    """
    if not isinstance(name, str) or not name.isascii() or not name.isalpha():
        return None
    namer = _namer()
    found = (namer.canonicals_of(name) | namer.nicknames_of(name)) - {name}
    return " ".join(sorted(found)) or None


def nickname_related(a: object, b: object) -> bool:
    """Whether one given name is a nickname or canonical form of the other."""
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return False
    va, vb = given_variants(a), given_variants(b)
    return (va is not None and b in va.split()) or (vb is not None and a in vb.split())
