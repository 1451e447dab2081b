"""Small-count protection of published tables: primary suppression of counts 1-4, complementary
suppression so that no hidden value can be recomputed, and the audit that proves it.

Plain Python over plain values, free of Django (gridmap.published builds the tables; gridmap.access
is where the pages, the API and the exports get them from). The solver is HiGHS through
scipy.optimize.linprog.

The model: `values` maps a key (any hashable: here (unit code, measure)) to the true value of a
figure that is published; `relations` say how figures add up (total = sum of parts), as an attacker
who reads every table may use them. A key that appears in a relation but not in `values` is a figure
that is never published (a latent part, e.g. graduates in a row whose other statuses are shown): an
unknown >= 0 to everyone.

- Primary: a count 1 <= v <= 4 (of keys that count children) is shown "<5": to the attacker it lies
  in [1, 4].
- Complement: a published value hidden only so that a primary cannot be recomputed, shown "*". Never
  a zero. The attacker knows it is not a primary, so it lies in [5, inf) (in [1, inf) for a figure,
  such as a visit count, that is not subject to the small-count rule).
- Forced: hidden because another hidden figure would show through it (`linked`: a row's visit
  counts when its home-taught count is hidden); anywhere in [0, inf) to the attacker.

A hidden value is *recomputed* when the range it can take, given every published value, every
relation and the bounds above, is narrower than 1 (max - min < 1, linear relaxation). `protect` adds
complements, smallest non-zero published value first and parts before totals, until no hidden small
count (primary or forced, other than 0) is recomputed, auditing each connected component of
unknowns with a few LPs on random objectives (their vertices show most values can move by 1) and
two LPs for each value they do not settle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array

SMALL = 5  # counts 1..SMALL-1 are primary suppressions
PRIMARY, COMPLEMENT, FORCED = "primary", "complement", "forced"
INF = float("inf")
_EPS = 1e-6
WITNESSES = 4  # random-objective LPs per component before the per-value ones

Key = Any  # any hashable: (unit code, measure) here


@dataclass(frozen=True)
class Relation:
    """total = sum(parts), exactly, on the data being published."""

    total: Key
    parts: tuple[Key, ...]

    def terms(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


@dataclass
class Protection:
    """What to hide, and why; with the work it took."""

    hidden: dict[Key, str]  # key -> PRIMARY / COMPLEMENT / FORCED
    rounds: int = 0
    lps: int = 0  # linear programs solved by the audit
    components: int = 0  # largest number of components audited in one round
    unprotected: list[Key] = field(default_factory=list)  # recomputable and no complement left (never seen)

    def count(self, reason: str) -> int:
        return sum(1 for r in self.hidden.values() if r == reason)


def primary_candidates(values: Mapping[Key, int], small: Callable[[Key], bool] | None = None,
                       banded: Callable[[Key], bool] | None = None) -> set[Key]:
    def floor(k: Key) -> int:
        return 0 if banded is not None and banded(k) else 1
    return {k for k, v in values.items() if floor(k) <= v < SMALL and (small is None or small(k))}


def protect(values: Mapping[Key, int], relations: Sequence[Relation], *,
            small: Callable[[Key], bool] | None = None,
            linked: Mapping[Key, Sequence[Key]] | None = None,
            rank: Callable[[Key], int] | None = None,
            banded: Callable[[Key], bool] | None = None,
            fixed: Mapping[Key, str | None] | None = None,
            zeros: Callable[[Key], bool] | None = None,
            complements: bool = True, max_rounds: int = 200) -> Protection:
    """Decide which published values to hide.

    small(key): whether the key is a count of children (subject to "<5"); default: every key.
    linked[key]: keys to hide (FORCED) whenever `key` is hidden.
    rank(key): the level of a figure, higher for larger units (a county above its townships); among
      equally good complements the lower rank is taken, so totals are hidden only when parts cannot
      do it.
    banded(key): 0 is hidden too, as "<5" = 0-4: for figures that are mostly 0 or 1 in many small
      units (off school per village group), where zeros shown beside "<5" pin every "<5" to 1 when
      the units' total is known.
    fixed[key]: a figure whose state another decision has already published (its reason if hidden
      there, None if shown): kept as it is, never chosen as a complement, and — when hidden as a
      primary — protected here too, from what this table adds (a table that shares figures with one
      already published: the coverage of a county beside its month's school-age children).
    zeros(key): "<5" of this figure reads 0-4 (as banded), but a 0 is hidden only as a last resort:
      where a recomputed value has no published non-zero value left to hide beside it (sparse
      tables: a township's few off-network children, all in hidden villages), a 0 in its relations
      is hidden ("<5") instead.
    complements=False gives primary suppression alone (for comparison: the audit is not run).
    """
    linked = linked or {}
    fixed = fixed or {}
    hidden: dict[Key, str] = {k: PRIMARY for k in primary_candidates(values, small, banded) if k not in fixed}
    hidden.update({k: reason for k, reason in fixed.items() if reason is not None and k in values})
    _close_linked(hidden, linked, values)
    result = Protection(hidden)
    if not complements:
        return result
    zeroed: set[Key] = set()

    def reads_as_band(k: Key) -> bool:
        return (banded is not None and banded(k)) or (zeros is not None and zeros(k))
    audit = _Audit(values, relations, small, reads_as_band if (banded or zeros) else None, frozenset(fixed))
    for result.rounds in range(1, max_rounds + 1):
        determined = audit.singletons(hidden)  # pinned by one relation: found without an LP
        if not determined:
            determined, stats = audit.recomputed(hidden)
            result.lps += stats[0]
            result.components = max(result.components, stats[1])
        if not determined:
            break
        added, touched, grown = False, set[int](), set[int]()
        order = {PRIMARY: 0, FORCED: 1, COMPLEMENT: 2}
        for key, component in sorted(determined.items(), key=lambda kc: (order[hidden[kc[0]]], repr(kc[0]))):
            if touched & set(audit.of_key.get(key, [])) or (hidden[key] == COMPLEMENT and component in grown):
                continue  # a complement went in beside it this round: audit again first
            choice = audit.complement_for(key, hidden, rank)
            if choice is None and zeros is not None:
                choice = audit.zero_for(key, hidden, zeros)
                if choice is not None:
                    hidden[choice] = PRIMARY
                    zeroed.add(choice)
                    touched.update(audit.of_key.get(choice, []))
                    grown.add(component)
                    added = True
                    continue
            if choice is None:
                if key not in result.unprotected:
                    result.unprotected.append(key)
                continue
            if choice not in hidden:
                hidden[choice] = COMPLEMENT
                touched.update(audit.of_key.get(choice, []))
                grown.add(component)
                added = True
        _close_linked(hidden, linked, values)
        if not added:
            break
    return result


def _close_linked(hidden: dict[Key, str], linked: Mapping[Key, Sequence[Key]], values: Mapping[Key, int]) -> None:
    todo = list(hidden)
    while todo:
        for other in linked.get(todo.pop(), ()):
            if other in values and other not in hidden:
                hidden[other] = FORCED
                todo.append(other)


class _Audit:
    """Ranges of hidden values over the relations, component by component (results of unchanged
    components are kept between rounds)."""

    def __init__(self, values: Mapping[Key, int], relations: Sequence[Relation],
                 small: Callable[[Key], bool] | None, banded: Callable[[Key], bool] | None = None,
                 fixed: frozenset[Key] = frozenset()) -> None:
        self.values = values
        self.small = small
        self.banded = banded
        self.fixed = fixed
        self.relations = [r for r in relations if len(r.parts) > 0]
        self.of_key: dict[Key, list[int]] = {}
        for i, r in enumerate(self.relations):
            for k in r.terms():
                self.of_key.setdefault(k, []).append(i)
        self._passed: set[frozenset[Key]] = set()

    def target(self, key: Key, hidden: Mapping[Key, str]) -> bool:
        """Must this hidden value stay unknown? A small count (primary) or what would show one
        (forced), unless it is 0: learning that a count is 0 discloses no child. A complement is
        not a target: it is 5 or more, hidden only to keep targets unknown, and the audit of the
        targets already assumes whatever can be learnt of it."""
        return hidden.get(key) in (PRIMARY, FORCED) and self.values.get(key, 0) > 0

    def unknown(self, key: Key, hidden: Mapping[Key, str]) -> bool:
        return key in hidden or key not in self.values

    def bounds(self, key: Key, hidden: Mapping[Key, str]) -> tuple[float, float]:
        reason = hidden.get(key)
        if reason == PRIMARY:
            return (0.0 if self.banded is not None and self.banded(key) else 1.0), float(SMALL - 1)
        if reason == COMPLEMENT:
            counts_children = self.small is None or self.small(key)
            return (float(SMALL) if counts_children else 1.0), INF
        return 0.0, INF  # forced, or never published

    def singletons(self, hidden: Mapping[Key, str]) -> dict[Key, int]:
        """Hidden keys that are the only unknown of some relation (each its own "component")."""
        out: dict[Key, int] = {}
        for r in self.relations:
            unknowns = [k for k in r.terms() if self.unknown(k, hidden)]
            if len(unknowns) == 1 and self.target(unknowns[0], hidden):
                out[unknowns[0]] = len(out)
        return out

    def recomputed(self, hidden: Mapping[Key, str]) -> tuple[dict[Key, int], tuple[int, int]]:
        """Hidden keys whose range is narrower than 1, each with the number of its component;
        (LPs solved, components)."""
        lps, n_components, out = 0, 0, {}
        for number, (variables, rels) in enumerate(self._components(hidden)):
            if not any(self.target(v, hidden) for v in variables):
                continue
            n_components += 1
            frozen = frozenset(variables)
            if frozen in self._passed:
                continue
            determined, solved = self._audit_component(variables, rels, hidden)
            lps += solved
            if determined:
                out.update(dict.fromkeys(determined, number))
            else:
                self._passed.add(frozen)
        return out, (lps, n_components)

    def _components(self, hidden: Mapping[Key, str]) -> Iterable[tuple[list[Key], list[int]]]:
        parent: dict[Key, Key] = {}

        def find(k: Key) -> Key:
            while parent[k] != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        active: list[tuple[int, list[Key]]] = []
        for i, r in enumerate(self.relations):
            unknowns = [k for k in r.terms() if self.unknown(k, hidden)]
            if not unknowns:
                continue
            active.append((i, unknowns))
            for k in unknowns:
                parent.setdefault(k, k)
            for k in unknowns[1:]:
                a, b = find(unknowns[0]), find(k)
                if a != b:
                    parent[a] = b
        groups: dict[Key, tuple[list[Key], list[int]]] = {}
        for k in parent:
            groups.setdefault(find(k), ([], []))[0].append(k)
        for i, unknowns in active:
            groups[find(unknowns[0])][1].append(i)
        return groups.values()  # a hidden value in no relation is safe: its range is its bounds

    def _audit_component(self, variables: list[Key], rels: list[int],
                         hidden: Mapping[Key, str]) -> tuple[list[Key], int]:
        index = {k: j for j, k in enumerate(variables)}
        a = np.zeros((len(rels), len(variables)))
        b = np.zeros(len(rels))
        for row, i in enumerate(rels):
            r = self.relations[i]
            for k, coef in [(r.total, -1.0), *((p, 1.0) for p in r.parts)]:
                if k in index:
                    a[row, index[k]] += coef
                else:
                    b[row] -= coef * self.values[k]
        bounds = [self.bounds(k, hidden) for k in variables]
        lo = np.array([x for x, _y in bounds])
        hi = np.array([y for _x, y in bounds])
        targets = [k for k in variables if self.target(k, hidden)]
        if len(rels) == 1:
            return [k for k in targets if _single_range(a[0], b[0], lo, hi, index[k]) < 1 - _EPS], 0
        determined, solved = [], 0
        lp_bounds = [(x, None if y == INF else y) for x, y in bounds]
        sparse = csr_array(a)
        # Witnesses first: vertices for a few random objectives usually show most values can move by
        # 1 or more from the truth (which is feasible itself); only the rest get their own two LPs.
        truth = np.array([float(self.values.get(k, 0)) for k in variables])
        moved = np.zeros(len(variables), dtype=bool)
        rng = np.random.default_rng(len(variables))
        for _ in range(WITNESSES):
            res = linprog(rng.choice([-1.0, 1.0], len(variables)), A_eq=sparse, b_eq=b, bounds=lp_bounds,
                          method="highs")
            solved += 1
            if res.status == 0:
                moved |= np.abs(res.x - truth) >= 1 - _EPS
        # Then push all unsettled targets up together, and down together, while that settles some.
        columns = np.array([index[k] for k in targets if k in self.values])
        progress = True
        while progress and columns.size:
            progress = False
            for sign in (-1.0, 1.0):
                open_columns = columns[~moved[columns]]
                if not open_columns.size:
                    break
                c = np.zeros(len(variables))
                c[open_columns] = sign
                res = linprog(c, A_eq=sparse, b_eq=b, bounds=lp_bounds, method="highs")
                solved += 1
                if res.status == 0:
                    now = np.abs(res.x - truth) >= 1 - _EPS
                    progress |= bool((now & ~moved)[open_columns].any())
                    moved |= now
        for k in targets:
            j = index[k]
            if moved[j] or k not in self.values:
                continue
            low = high = truth[j]
            for sign in (1.0, -1.0):  # min, then max
                c = np.zeros(len(variables))
                c[j] = sign
                res = linprog(c, A_eq=sparse, b_eq=b, bounds=lp_bounds, method="highs")
                solved += 1
                if res.status == 3:  # unbounded: the value can grow without limit
                    high = INF
                elif res.status == 0:
                    if sign > 0:
                        low = res.x[j]
                    else:
                        high = res.x[j]
                if high - low >= 1 - _EPS:
                    break
            if high - low < 1 - _EPS:
                determined.append(k)
        return determined, solved

    def complement_for(self, key: Key, hidden: Mapping[Key, str],
                       rank: Callable[[Key], int] | None) -> Key | None:
        """The published non-zero value to hide next to `key`: from the relations through `key` with
        the fewest unknowns first, a part before a total, a lower rank before a higher, one that
        also sits in a relation with another hidden value (closing a rectangle, as in a table with
        marginals, protects both at once), the smallest."""
        best: tuple[Any, ...] | None = None
        choice: Key | None = None
        for i in self.of_key.get(key, []):
            r = self.relations[i]
            n_unknown = sum(self.unknown(k, hidden) for k in r.terms())
            for k in r.terms():
                if k == key or self.unknown(k, hidden) or self.values[k] == 0 or k in self.fixed:
                    continue
                links = sum(1 for j in self.of_key.get(k, []) if j != i
                            and any(o in hidden for o in self.relations[j].terms()))
                order = (n_unknown, k == r.total, rank(k) if rank else 0, -links, self.values[k], repr(k))
                if best is None or order < best:
                    best, choice = order, k
        if choice is None:  # nothing beside it: look further out through its component's unknowns
            choice = self._further(key, hidden, rank)
        return choice


    def zero_for(self, key: Key, hidden: Mapping[Key, str], zeros: Callable[[Key], bool]) -> Key | None:
        """A published 0 to hide beside `key` (as "<5", 0-4): in its relations first, else the
        nearest in its component."""
        seen, frontier = {key}, [key]
        while frontier:
            reached: list[Key] = []
            found = sorted((k for unknown in frontier for i in self.of_key.get(unknown, [])
                            for k in self.relations[i].terms()
                            if not self.unknown(k, hidden) and self.values[k] == 0 and k not in self.fixed
                            and zeros(k)), key=repr)
            if found:
                return found[0]
            for unknown in frontier:
                for i in self.of_key.get(unknown, []):
                    for k in self.relations[i].terms():
                        if self.unknown(k, hidden) and k not in seen:
                            seen.add(k)
                            reached.append(k)
            frontier = reached
        return None

    def _further(self, key: Key, hidden: Mapping[Key, str], rank: Callable[[Key], int] | None) -> Key | None:
        """The nearest published non-zero value in a relation of the component of `key`: found
        breadth first, then by the usual order within the nearest distance."""
        seen, frontier = {key}, [key]
        while frontier:
            best: tuple[Any, ...] | None = None
            choice: Key | None = None
            reached: list[Key] = []
            for unknown in frontier:
                for i in self.of_key.get(unknown, []):
                    r = self.relations[i]
                    for k in r.terms():
                        if self.unknown(k, hidden):
                            if k not in seen:
                                seen.add(k)
                                reached.append(k)
                        elif self.values[k] > 0 and k not in self.fixed:
                            order = (k == r.total, rank(k) if rank else 0, self.values[k], repr(k))
                            if best is None or order < best:
                                best, choice = order, k
            if choice is not None:
                return choice
            frontier = reached
        return None


def _single_range(row: Any, rhs: float, lo: Any, hi: Any, j: int) -> float:
    """Width of the range of x_j under one equation row·x = rhs and box bounds (closed form)."""
    coef = row[j]
    if coef == 0:
        return float(hi[j]) - float(lo[j])
    others_lo = others_hi = 0.0
    for i, c in enumerate(row):
        if i == j or c == 0:
            continue
        lo_i, hi_i = (c * lo[i], c * hi[i]) if c > 0 else (c * hi[i], c * lo[i])
        others_lo += lo_i
        others_hi += hi_i
    # coef * x_j = rhs - others, others in [others_lo, others_hi]
    ends = [(rhs - others_hi) / coef, (rhs - others_lo) / coef]
    low, high = max(min(ends), lo[j]), min(max(ends), hi[j])
    return float(high) - float(low)


def ranges(values: Mapping[Key, float], relations: Sequence[Relation], bounds: Mapping[Key, tuple[float, float]],
           targets: Iterable[Key] | None = None, stop_at_pinned: bool = False) -> dict[Key, tuple[float, float]]:
    """An attacker's view: how far each target unknown (a key with bounds and no value) can move,
    given the known values and the relations, counts being whole numbers.

    Used by the tests to attack what a login can read, independently of `protect`'s audit. Per
    connected component: integer witnesses first — MILPs that push the still-unsettled targets up
    and down together, with varied weights, round after round; a target on which two integer
    solutions differ by 1 or more can move that much, and is settled with the spread the
    witnesses show. Every target left gets its exact integer range by two MILPs of its own.
    `stop_at_pinned` returns as soon as one target is found that cannot move (a control run)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    wanted = set(bounds if targets is None else targets)
    parent: dict[Key, Key] = {k: k for k in bounds}

    def find(k: Key) -> Key:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    rels = []
    for r in relations:
        unknowns = [k for k in r.terms() if k in bounds]
        if unknowns:
            rels.append((r, unknowns))
            for k in unknowns[1:]:
                parent[find(k)] = find(unknowns[0])
    groups: dict[Key, list[Key]] = {}
    for k in bounds:
        groups.setdefault(find(k), []).append(k)
    by_group: dict[Key, list[Relation]] = {}
    for r, unknowns in rels:
        by_group.setdefault(find(unknowns[0]), []).append(r)
    out: dict[Key, tuple[float, float]] = {}
    rng = np.random.default_rng(0)
    for root, unknown in groups.items():
        mine = [k for k in unknown if k in wanted]
        if not mine:
            continue
        index = {k: j for j, k in enumerate(unknown)}
        rows, rhs = [], []
        for r in by_group.get(root, []):
            row, b = np.zeros(len(unknown)), 0.0
            for k, coef in [(r.total, -1.0), *((p, 1.0) for p in r.parts)]:
                if k in index:
                    row[index[k]] += coef
                else:
                    b -= coef * values[k]
            rows.append(row)
            rhs.append(b)
        lo = np.array([bounds[k][0] for k in unknown])
        hi = np.array([bounds[k][1] for k in unknown])
        if not rows:
            out.update({k: bounds[k] for k in mine})
            continue
        constraint = [LinearConstraint(np.array(rows), rhs, rhs)]
        box, whole = Bounds(lo, hi), np.ones(len(unknown))

        def solve(c: Any, constraint: Any = constraint, box: Any = box, whole: Any = whole) -> Any:
            res = milp(c, constraints=constraint, bounds=box, integrality=whole)
            return res.x if res.status == 0 else None

        unsettled = {k: index[k] for k in mine}
        points: list[Any] = []
        for _round in range(12):
            found = 0
            for sign in (1.0, -1.0):
                c = np.zeros(len(unknown))
                columns = np.array(list(unsettled.values()))
                c[columns] = sign * (1.0 + rng.random(len(columns)))
                x = solve(c)
                if x is not None:
                    points.append(x)
            if len(points) < 2:
                break
            stack = np.array(points)
            for k, j in list(unsettled.items()):
                low, high = float(stack[:, j].min()), float(stack[:, j].max())
                if high - low >= 1 - _EPS:
                    out[k] = (low, high)
                    del unsettled[k]
                    found += 1
            if not found or not unsettled:
                break
        for k, j in unsettled.items():
            span = []
            for sign in (1.0, -1.0):
                c = np.zeros(len(unknown))
                c[j] = sign
                x = solve(c)
                span.append(float(x[j]) if x is not None else (-INF if sign > 0 else INF))
            out[k] = (span[0], span[1])
            if stop_at_pinned and span[1] - span[0] < 1 - _EPS:
                return out
    return out
