"""The exact joint posterior over (graph, N) on a grid of N that is grown until it cannot truncate.

Everything is in log space. For a set of graphs (rows of the signed clique/separator matrix)
and a block of m = N - n values, the unnormalised log posterior is one matrix product with the
per-subset terms plus the multinomial coefficient and the log prior. Blocks are evaluated in
pieces of at most :data:`_M_PIECE` values of m and :data:`_CELLS` (graph, m) entries, so a grid
of millions of values and 18,154 graphs runs in bounded memory.

The grid-growth rule and its tail bound are documented in
:class:`~undercount.models.graphical.estimator.GraphicalEstimator` (Notes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import digamma

from undercount.models.graphical._marginal import LogPrior, SubsetTerms

__all__ = ["BlockSums", "Posterior", "evaluate_block", "grow_grid", "screen_graphs"]

_M_PIECE = 1 << 15
_CELLS = 1 << 21
#: The grid never grows past this many values of m without an explicit n_missing_max.
HARD_MAX_M = 1 << 22


@dataclass
class BlockSums:
    """Sums over one block of m for a set of graphs (all in log space).

    seg_logmass : (rows, n_segments) log sum of q_g(m) over each segment
    log_nmass : (rows,) log sum of N q_g(m) over the block
    col_log : (len(m),) log sum over the rows of q_g(m), per m
    """

    seg_logmass: np.ndarray
    log_nmass: np.ndarray
    col_log: np.ndarray


def evaluate_block(
    weights: np.ndarray,
    terms: SubsetTerms,
    log_prior: LogPrior,
    m_lo: int,
    m_hi: int,
    segments: list[tuple[int, int]],
) -> BlockSums:
    """Sums of the unnormalised joint posterior over m in [m_lo, m_hi) for each row of weights.

    ``segments`` are half-open ranges of m inside [m_lo, m_hi) whose per-row masses are wanted
    (the whole block is always the last column of ``seg_logmass``).
    """
    # Only the subsets some row uses need their Gamma terms (few, late in the grid growth).
    used = np.flatnonzero(np.any(weights != 0, axis=0))
    weights = np.ascontiguousarray(weights[:, used])
    rows = weights.shape[0]
    n = terms.n_observed
    segs = [*segments, (m_lo, m_hi)]
    acc_seg = np.full((rows, len(segs)), -np.inf)
    acc_n = np.full(rows, -np.inf)
    col_parts = []
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        for p_lo in range(m_lo, m_hi, _M_PIECE):
            p_hi = min(m_hi, p_lo + _M_PIECE)
            m = np.arange(p_lo, p_hi, dtype=float)
            t = terms.terms(m, used)
            base = terms.log_multinomial(m) + np.asarray(log_prior(m + n), dtype=float)
            if not np.all(np.isfinite(base)):
                bad = m[~np.isfinite(base)][:5].astype(int) + n
                raise FloatingPointError(f"the log prior is not finite at N = {bad.tolist()}")
            # Columns: one indicator per segment, then N for E[N | g].
            ind = np.zeros((m.size, len(segs) + 1))
            for k, (s_lo, s_hi) in enumerate(segs):
                a, b = max(s_lo, p_lo) - p_lo, min(s_hi, p_hi) - p_lo
                if b > a:
                    ind[a:b, k] = 1.0
            ind[:, -1] = m + n
            col = np.full(m.size, -np.inf)
            step = max(1, _CELLS // m.size)
            for r_lo in range(0, rows, step):
                r_hi = min(rows, r_lo + step)
                lq = weights[r_lo:r_hi] @ t
                lq += base
                rmax = lq.max(axis=1)
                e = np.exp(lq - rmax[:, None])
                sums = np.log(e @ ind) + rmax[:, None]
                acc_seg[r_lo:r_hi] = np.logaddexp(acc_seg[r_lo:r_hi], sums[:, :-1])
                acc_n[r_lo:r_hi] = np.logaddexp(acc_n[r_lo:r_hi], sums[:, -1])
                gmax = rmax.max()
                col = np.logaddexp(col, np.log(np.exp(rmax - gmax) @ e) + gmax)
            col_parts.append(col)
    col_log = np.concatenate(col_parts) if col_parts else np.zeros(0)
    return BlockSums(seg_logmass=acc_seg, log_nmass=acc_n, col_log=col_log)


def _logsumexp(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return -math.inf
    mx = float(np.max(x))
    if not math.isfinite(mx):
        return mx
    return mx + math.log(float(np.sum(np.exp(x - mx))))


def tail_bounds(last: np.ndarray, prev: np.ndarray, rho_asym: np.ndarray | None) -> np.ndarray:
    """log of the extrapolated mass beyond a dyadic grid end, per graph.

    ``last`` and ``prev`` are the log masses of the last two dyadic blocks [M/2, M) and
    [M/4, M/2). The next blocks are assumed to shrink at least by rho = max(observed ratio,
    asymptotic ratio 2^(e_g + 1)) each, so the tail beyond M is at most last * rho / (1 - rho);
    rho >= 1 gives +inf (the grid must grow).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        log_rho = np.where(np.isfinite(last), last - prev, -np.inf)
        log_rho = np.where(np.isnan(log_rho), -np.inf, log_rho)
        if rho_asym is not None:
            log_rho = np.maximum(log_rho, rho_asym)
        out = np.full(last.shape, -np.inf)
        ok = np.isfinite(last) & (log_rho < 0)
        out[ok] = last[ok] + log_rho[ok] - np.log(-np.expm1(log_rho[ok]))
        out[np.isfinite(last) & (log_rho >= 0)] = np.inf
    return out


@dataclass
class Posterior:
    """The joint posterior accumulated over a grid of m (log, unnormalised).

    m_lo, m_hi : grid of m is [m_lo, m_hi) (so N = n + m_lo, ..., n + m_hi - 1)
    col_log : log sum over graphs of q_g(m) on the grid
    graph_logmass, graph_log_nmass : per graph, log sum of q_g(m) and of N q_g(m) on the grid
    log_tail : log of the (bounded) mass beyond m_hi, all graphs together
    graph_log_tail : per graph, the bound on its mass beyond the grid (at the time it was
        dropped from the grid, for graphs dropped early)
    """

    m_lo: int
    m_hi: int
    col_log: np.ndarray
    graph_logmass: np.ndarray
    graph_log_nmass: np.ndarray
    log_tail: float
    graph_log_tail: np.ndarray
    hit_limit: bool = False
    blocks: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def log_total(self) -> float:
        return _logsumexp(self.graph_logmass)


def _dyadic_segments(m_hi: int, m_lo: int) -> list[tuple[int, int]]:
    return [(max(m_lo, m_hi // 4), max(m_lo, m_hi // 2)), (max(m_lo, m_hi // 2), m_hi)]


def grow_grid(
    weights: np.ndarray,
    terms: SubsetTerms,
    log_prior: LogPrior,
    rho_asym: np.ndarray | None,
    *,
    m_lo: int,
    m_first: int,
    tail_mass: float,
    m_max: int | None,
    grow: bool,
    active0: np.ndarray | None = None,
    log_excluded: float = -math.inf,
    log_upper: np.ndarray | None = None,
) -> Posterior:
    """Evaluate [m_lo, m_first) for every graph, then (if ``grow``) extend by doubling blocks.

    With ``grow`` False the grid is fixed and the returned posterior covers [m_lo, m_first)
    only, but its ``log_tail`` still bounds the mass beyond (found by extending the grid in
    shadow: evaluated, not added). Graphs whose combined tail bound is below a tenth of the
    tolerance are dropped from further blocks, their bound being carried in the total.

    ``active0`` (graph indices) restricts the computation to those graphs from the start;
    ``log_excluded`` bounds the total mass of the others, and ``log_upper`` (per graph) bounds
    each graph's total mass, hence its tail too (see :func:`screen_graphs`).

    ``m_max`` (inclusive) caps the grid; reaching it with the tail bound above the tolerance
    sets ``hit_limit``, and the grid is extended in shadow to bound the mass beyond the cap.
    ``hit_limit`` is also set when even :data:`HARD_MAX_M` does not bring the bound under
    the tolerance (the bound is then reported as it stands).
    """
    g_count = weights.shape[0]
    all_weights = weights
    active = np.arange(g_count) if active0 is None else np.asarray(active0)
    weights = all_weights[active]
    # The ratio of the last two dyadic blocks needs [M/4, M); evaluate what the grid lacks.
    segs = _dyadic_segments(m_first, m_lo)
    first = evaluate_block(weights, terms, log_prior, m_lo, m_first, segs)
    last, prev = first.seg_logmass[:, 1].copy(), first.seg_logmass[:, 0].copy()
    if m_lo > m_first // 4 and m_first >= 4:
        extra_lo = m_first // 4
        ext = evaluate_block(
            weights, terms, log_prior, extra_lo, m_lo, _dyadic_segments(m_first, extra_lo)
        )
        last = np.logaddexp(last, ext.seg_logmass[:, 1])
        prev = np.logaddexp(prev, ext.seg_logmass[:, 0])
    graph_logmass = np.full(g_count, -np.inf)
    graph_log_nmass = np.full(g_count, -np.inf)
    graph_logmass[active] = first.seg_logmass[:, -1]
    graph_log_nmass[active] = first.log_nmass
    col_parts = [first.col_log]
    post = Posterior(
        m_lo=m_lo,
        m_hi=m_first,
        col_log=first.col_log,
        graph_logmass=graph_logmass,
        graph_log_nmass=graph_log_nmass,
        log_tail=-math.inf,
        graph_log_tail=np.full(g_count, -np.inf),
        blocks=[(m_lo, m_first, active.size)],
    )
    shadow_mass = np.full(g_count, -np.inf)  # mass found beyond a fixed grid
    dropped_tail = log_excluded
    log_tol = math.log(tail_mass)
    end = m_first
    limit = HARD_MAX_M if m_max is None else m_max + 1
    shadow = not grow
    while True:
        tails = tail_bounds(last, prev, None if rho_asym is None else rho_asym[active])
        if log_upper is not None:
            tails = np.minimum(tails, log_upper[active])
        post.graph_log_tail[active] = tails
        log_z = _logsumexp(np.logaddexp(graph_logmass, shadow_mass))
        log_tail = float(np.logaddexp(_logsumexp(tails), dropped_tail))
        if log_tail - log_z < log_tol:
            break
        if end >= HARD_MAX_M:
            post.hit_limit = True
            break
        if not shadow and end >= limit:
            # The cap is reached: go on evaluating beyond it, in shadow, to bound what it
            # leaves out.
            shadow = True
            post.hit_limit = True
        # Drop graphs whose tails, with those dropped before, stay below half the tolerance.
        budget = log_z + log_tol + math.log(0.5)
        n_drop = 0
        if dropped_tail < budget:
            room = budget + math.log1p(-math.exp(dropped_tail - budget))
            order = np.argsort(tails)
            csum = np.logaddexp.accumulate(tails[order])
            n_drop = int(np.searchsorted(csum, room, side="left"))
        if n_drop:
            dropped_tail = float(np.logaddexp(dropped_tail, csum[n_drop - 1]))
            post.graph_log_tail[active[order[:n_drop]]] = tails[order[:n_drop]]
            keep = np.sort(order[n_drop:])
            active, last, prev = active[keep], last[keep], prev[keep]
        new_end = 2 * end if shadow else min(2 * end, limit)
        blk = evaluate_block(all_weights[active], terms, log_prior, end, new_end, [(end, new_end)])
        bm = blk.seg_logmass[:, -1]
        if shadow:
            shadow_mass[active] = np.logaddexp(shadow_mass[active], bm)
        else:
            graph_logmass[active] = np.logaddexp(graph_logmass[active], bm)
            graph_log_nmass[active] = np.logaddexp(graph_log_nmass[active], blk.log_nmass)
            col_parts.append(blk.col_log)
            post.m_hi = new_end
        post.blocks.append((end, new_end, active.size))
        if new_end - end >= end:
            prev, last = last, bm
        # else: a block cut short by the cap gives no dyadic ratio; the bound beyond the last
        # full dyadic end (which counts this block's mass too) still bounds the mass beyond.
        end = new_end
    post.col_log = np.concatenate(col_parts)
    post.log_tail = float(np.logaddexp(_logsumexp(shadow_mass), log_tail))
    return post


def screen_graphs(
    weights: np.ndarray,
    terms: SubsetTerms,
    log_prior: LogPrior,
    log_prior_slope: Callable[[np.ndarray], np.ndarray],
    log_tail_factor: np.ndarray | float,
    *,
    m_end: int = HARD_MAX_M,
    ratio: float = 1.01,
) -> tuple[np.ndarray, float]:
    """Upper bounds on every graph's total posterior mass, and a lower bound on the total.

    log q_g is evaluated at coarse points m_0 < m_1 < ... (integers to 64, then geometric).
    On each interval its slope is bounded by a Lipschitz constant L: every piece of
    d log q_g / dm (digamma differences, the multinomial's and the prior's) is monotone in m,
    so its size is bounded by its larger endpoint value. The maximum of log q_g on
    [m_i, m_{i+1}] is then at most (f(m_i) + f(m_{i+1}))/2 + L (m_{i+1} - m_i)/2, and the
    mass at most (m_{i+1} - m_i) times its exponential. Beyond ``m_end`` the bound is
    q(m_end) times ``exp(log_tail_factor)``: m_end / (-e_g - 1) for a power-law tail
    m^e_g, 2 (1 + b) for the negative-binomial prior's geometric tail.

    Returns ``(log_upper, log_lower_total)``: the lower bound is the largest single q_g(m)
    found, a term of the total.
    """
    n = terms.n_observed
    k_max = math.ceil(math.log(m_end / 64) / math.log(ratio))
    geo = np.minimum(np.round(64 * ratio ** np.arange(0, k_max + 1)), m_end).astype(np.int64)
    pts = np.unique(np.concatenate([np.arange(0, 64), geo, [m_end]]))
    m = pts.astype(float)
    t = terms.terms(m)
    base = terms.log_multinomial(m) + np.asarray(log_prior(m + n), dtype=float)
    with np.errstate(under="ignore"):
        f = weights @ t + base  # (G, P)
        # Slopes of each subset term and of the m-only terms at every point.
        g_sub = (
            digamma(m[None, :] + (terms.zero_count + terms.alpha)[:, None])
            - digamma(m + n + terms.total_mass)[None, :]
        )
        g_sub[0] = 0.0
        g_base = digamma(m + n + 1.0) - digamma(m + 1.0) + log_prior_slope(m + n)
        sub_bound = np.maximum(np.abs(g_sub[:, :-1]), np.abs(g_sub[:, 1:]))
        base_bound = np.maximum(np.abs(g_base[:-1]), np.abs(g_base[1:]))
        lip = np.abs(weights) @ sub_bound + base_bound  # (G, P-1)
        width = np.diff(m)
        upper_max = (f[:, :-1] + f[:, 1:]) / 2 + lip * width / 2
        # Each interval holds the integers [m_i, m_{i+1}); the last point stands alone.
        log_seg = upper_max + np.log(width)
        tail = f[:, -1] + log_tail_factor
        parts = np.concatenate([log_seg, f[:, -1:], tail[:, None]], axis=1)
        mx = parts.max(axis=1)
        log_upper = mx + np.log(np.exp(parts - mx[:, None]).sum(axis=1))
    return log_upper, float(f.max())
