"""Dropout hotspots, the statistics: plain functions over numpy arrays and shapely geometries, free of
Django (`hotspots.data` feeds them from the ledgers; the tests call them on constructed grids).

Rates. A group of 6 children with one dropout is not "17 %": each group's rate is smoothed by
Marshall's empirical Bayes (`esda.smoothing.Empirical_Bayes`) towards its township's rate, run per
township, so that a group's own rate counts for more the more children it has. Where the groups of a
township differ no more than chance makes them (the moment estimate of the between-group variance is
≤ 0), esda's weights leave [0, 1]; Marshall's convention is then used: every group gets the
township's rate. A group without school-age children gets the township's rate too (no evidence).

Clusters. Local Getis-Ord Gi* (`esda.G_Local`, binary weights, `star=True`: a group and its
neighbours together) on the smoothed rates, with conditional-permutation p-values at a fixed seed.
esda's `p_sim` is one-sided in the observed direction ("directed"; esda 2.9 warns that its default
will become two-sided, "which will generally double the p-value"); hot and cold are both looked for,
so the two-sided p = min(1, 2·p_sim) is used. esda corrects nothing for testing every group at once: the
Benjamini-Hochberg false-discovery-rate cut-off (`esda.fdr`) is taken at each confidence level over
the tested groups, and a group is hot (cold) at 90/95/99 % where its p is at or below that cut-off and
its z is positive (negative). With 9,999 permutations the smallest two-sided p is 0.0002.

Neighbours. Queen contiguity: two groups are neighbours when their boundaries share a point. It is
tested on the geometry (libpysal `fuzzy_contiguity`, predicate "intersects") with a 1 m tolerance in
a projected CRS, not on identical vertex coordinates: libpysal's vertex-based `Queen` misses groups
that meet at a T-junction (in the demo county 8,978 of the 10,625 pairs within 1 m; 10,597 pairs
already at 1 cm, so the tolerance only absorbs digitising noise). A group with no neighbour (an
island) cannot be part of a cluster: it is not tested and not counted in the FDR family, and the map
and the note say so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import esda
import geopandas as gpd
import libpysal
import mapclassify
import numpy as np
from esda.smoothing import Empirical_Bayes

PERMUTATIONS = 9_999
SEED = 14  # fixed: the same ledgers give the same map
CONTIGUITY_TOLERANCE_M = 1.0
# (level, confidence, alpha): a cell's level is ±1, ±2, ±3 for 90, 95, 99 % (+ hot, − cold).
LEVELS = ((1, 90, 0.10), (2, 95, 0.05), (3, 99, 0.01))
RATE_CLASSES = 4  # quantile classes of the positive smoothed rates (the zero class comes apart)


# --- rates -------------------------------------------------------------------------------------

def prior_variance(events: np.ndarray, population: np.ndarray) -> float:
    """Marshall's (1991) moment estimate of the between-unit variance of the true rates, as
    esda.smoothing.Empirical_Bayes computes it (units with population > 0)."""
    total = population.sum()
    mean = events.sum() / total
    spread = (population * (events / population - mean) ** 2).sum() / total
    return float(spread - mean / population.mean())


def smoothed_rates(events: np.ndarray, population: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Empirical-Bayes rates (fractions) of each unit towards its region's rate, region by region.

    NaN where the whole region has no population (no rate to move towards)."""
    events = np.asarray(events, dtype=float)
    population = np.asarray(population, dtype=float)
    region = np.asarray(region)
    out = np.full(len(events), np.nan)
    for name in np.unique(region):
        idx = np.flatnonzero(region == name)
        e, b = events[idx], population[idx]
        if b.sum() == 0:
            continue
        mean = e.sum() / b.sum()
        out[idx] = mean
        has = b > 0
        if mean == 0 or has.sum() < 2 or prior_variance(e[has], b[has]) <= 0:
            continue  # nothing to tell the units apart: all get the region's rate
        out[idx[has]] = Empirical_Bayes(e[has], b[has]).r.ravel()
    return out


def rate_bins(values: np.ndarray, k: int = RATE_CLASSES) -> list[float]:
    """Upper bounds of the quantile classes (mapclassify.Quantiles) of the finite positive values;
    fewer classes when there are fewer distinct values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return []
    k = min(k, len(np.unique(v)))
    if k < 2:
        return [float(v.max())]
    with warnings.catch_warnings():  # "not enough unique values": mapclassify then uses fewer classes
        warnings.simplefilter("ignore")
        bins = mapclassify.Quantiles(v, k=k).bins
    return sorted({float(b) for b in bins})


def rate_class(value: float, bins: Sequence[float]) -> int:
    """0-based index of the first bin whose upper bound is ≥ value (mapclassify's `yb`)."""
    return min(int(np.searchsorted(np.asarray(bins), value, side="left")), len(bins) - 1)


# --- neighbours --------------------------------------------------------------------------------

def contiguity(geoms: Sequence[Any], tolerance: float = CONTIGUITY_TOLERANCE_M) -> libpysal.weights.W:
    """Queen contiguity of projected polygons (metres), ids 0..n-1 in the given order."""
    frame = gpd.GeoDataFrame(geometry=list(geoms))
    if len(frame) == 0:
        return libpysal.weights.W({}, silence_warnings=True)
    with warnings.catch_warnings():  # islands are expected and handled by the caller
        warnings.simplefilter("ignore")
        w = libpysal.weights.fuzzy_contiguity(frame, buffering=tolerance > 0, buffer=tolerance / 2,
                                              predicate="intersects", silence_warnings=True)
    w.transform = "B"
    return w


# --- clusters ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Clusters:
    z: np.ndarray  # Gi* z-scores (normal approximation; the sign says hot or cold); NaN if untested
    p: np.ndarray  # two-sided permutation p-values; NaN where not tested
    level: np.ndarray  # int: ±3/±2/±1 significant at 99/95/90 % after FDR (+ hot, − cold), 0 not
    tested: np.ndarray  # bool: False for islands and cells without a rate
    island: np.ndarray  # bool: no neighbour
    cutoffs: dict[int, float]  # confidence % → FDR p cut-off
    corrected: dict[int, int]  # confidence % → cells significant after FDR
    uncorrected: dict[int, int]  # confidence % → cells with p ≤ alpha without correction
    permutations: int
    seed: int
    reason: str = ""  # why nothing was tested: "" | "constant" | "too_few"

    @property
    def hot(self) -> int:
        return int((self.level > 0).sum())

    @property
    def cold(self) -> int:
        return int((self.level < 0).sum())


def getis_ord(y: np.ndarray, w: libpysal.weights.W, permutations: int = PERMUTATIONS,
              seed: int = SEED, testable: np.ndarray | None = None) -> Clusters:
    """Gi* of y over w, hot/cold at 90/95/99 % after the Benjamini-Hochberg cut-off.

    Cells outside `testable` (e.g. groups without school-age children) keep their value in their
    neighbours' sums but get no test of their own and stay out of the FDR family."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    island = np.zeros(n, dtype=bool)
    island[[int(i) for i in w.islands]] = True
    finite = np.isfinite(y)
    tested = finite & ~island & (np.ones(n, dtype=bool) if testable is None else np.asarray(testable, dtype=bool))
    nan = np.full(n, np.nan)
    untested = dict(z=nan, p=nan, level=np.zeros(n, dtype=int), island=island, cutoffs={}, corrected={},
                    uncorrected={}, permutations=permutations, seed=seed)
    if tested.sum() < 3:
        return Clusters(tested=np.zeros(n, dtype=bool), reason="too_few", **untested)  # type: ignore[arg-type]
    # Cells without a rate take the mean of the others, so that they pull no neighbour either way.
    values = np.where(finite, y, y[finite].mean())
    if np.ptp(values) == 0:
        return Clusters(tested=np.zeros(n, dtype=bool), reason="constant", **untested)  # type: ignore[arg-type]
    with warnings.catch_warnings():  # islands ("not fully connected"), esda's notice on its default p
        warnings.simplefilter("ignore")
        g = esda.G_Local(values, w, transform="B", star=True, permutations=permutations, seed=seed,
                         n_jobs=1, keep_simulations=False)
    z = np.where(tested, g.Zs, np.nan)
    p = np.where(tested, np.minimum(1.0, 2.0 * g.p_sim), np.nan)
    level = np.zeros(n, dtype=int)
    cutoffs, corrected, uncorrected = {}, {}, {}
    sign = np.sign(np.nan_to_num(z)).astype(int)
    for rank, confidence, alpha in LEVELS:  # ascending: a higher level overwrites a lower one
        cutoff = float(esda.fdr(p[tested], alpha))
        significant = tested & (np.nan_to_num(p, nan=2.0) <= cutoff)
        level[significant] = rank * sign[significant]
        cutoffs[confidence], corrected[confidence] = cutoff, int(significant.sum())
        uncorrected[confidence] = int((tested & (np.nan_to_num(p, nan=2.0) <= alpha)).sum())
    return Clusters(z=z, p=p, level=level, tested=tested, island=island, cutoffs=cutoffs, corrected=corrected,
                    uncorrected=uncorrected, permutations=permutations, seed=seed)
