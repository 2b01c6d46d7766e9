"""Compiled per-step pair filter of the screening sweep (numba).

One grid step: every object has a state at the step centre (position, velocity), a radial reach
rho (how far its geocentric radius can move within the step, :func:`radial_reach_km`) and a
speed. A pair is a candidate when, with straight-line relative motion from the step centre, its
closest approach inside the step's interval [lo, hi] is below `reach0_km` (threshold + margin),
after the radial filter (|r_i| and |r_j| closer than reach0 + rho_i + rho_j) and the altitude band
filter. That is the same test as the KD-tree sweep it replaces; only the search is different.

The search is a uniform 3-D cell hash whose cells are one ordinary search radius wide
(reach0 + 1.05 * 2 v_cap * dt / 2, so the 27 cells around an object hold every partner that can
close the distance within the step), and whose buckets are sorted by geocentric radius, so each
object reads only the partners inside its radial window (a few km in LEO) by binary search
instead of every object of the neighbouring cells. That radial window is what makes the hash
cheap: the pairs a 500 km ball holds are mostly in other altitude shells. All-vs-all, the
neighbouring cells are found by walking the cells in key order (a merge join over the sorted
cell keys) rather than by hash probes, which cost a cache miss each.

"Wide" objects (faster than v_cap, or with a radial reach above rho_cap: eccentric orbits near
perigee) would widen everyone's search if they set the cell size or the radial window. Instead
each wide object searches with its own radii (more cell rings, a wider radial window) against
the ordinary ones, and wide-wide pairs are tested exactly, all pairs (there are few). Every pair
is examined exactly once:

- ordinary-ordinary: from the lower index (both primary) or from the primary;
- wide-ordinary: from the wide object;
- wide-wide: the exact all-pairs block.

In assets mode only primaries and wide non-primaries search, and a pair needs a primary.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from kizuna.model.constants import MU_WGS72_KM3_S2

#: bound on the part of two objects' relative acceleration that the gravity-gradient term of
#: _test_pair does not cover (J2 gradient and differential drag) [km/s^2], as the radial reach's
_REL_ACC_PAD_KMS2 = 5e-5
#: slack on the linear TCA offset beyond the bound of _test_pair [s] (rounding, and room)
_TAU_SLACK_S = 2.0

_H1 = np.int64(73856093)
_H2 = np.int64(19349663)
_H3 = np.int64(83492791)
#: cell coordinates are packed into one int64 key with this offset per axis (21 bits each)
_OFF = np.int64(1 << 20)
#: the 13 neighbour cells "after" a cell: each unordered pair of neighbouring cells once
_FORWARD = np.array(
    [(dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1) if (dx, dy, dz) > (0, 0, 0)],
    dtype=np.int64,
)


@nb.njit(cache=True, inline="always")
def _bucket(cx, cy, cz, mask):
    return ((cx * _H1) ^ (cy * _H2) ^ (cz * _H3)) & mask


@nb.njit(cache=True, inline="always")
def _key(cx, cy, cz):
    return (((cx + _OFF) << 21) + (cy + _OFF) << 21) + (cz + _OFF)


@nb.njit(cache=True, inline="always")
def _find_run(cx, cy, cz, mask, count, skey, run_end):
    """Start of the run of members in cell (cx, cy, cz), or -1."""
    b = _bucket(cx, cy, cz, mask)
    k, e = count[b], count[b + 1]
    want = _key(cx, cy, cz)
    while k < e:
        if skey[k] == want:
            return k
        k = run_end[k]
    return -1


@nb.njit(cache=True, inline="always")
def _near(p, q, spos, sspd, reach0, half):
    """3-D reach test of two members by position in the sorted order."""
    dx = spos[q, 0] - spos[p, 0]
    dy = spos[q, 1] - spos[p, 1]
    dz = spos[q, 2] - spos[p, 2]
    lim = reach0 + 1.05 * (sspd[p] + sspd[q]) * half
    return dx * dx + dy * dy + dz * dz <= lim * lim


@nb.njit(cache=True)
def sweep_step(
    pos_km,
    vel_kms,
    ok,
    rho_km,
    pos_err_km,
    vel_err_kms,
    perigee_km,
    apogee_km,
    is_primary,
    reach0_km,
    band_gap_km,
    dt_s,
    lo_s,
    hi_s,
    fast_kms,
    capacity,
):
    """Candidate pairs (i, j) of one grid step with the clipped linear TCA offset [s] from the
    step centre. i is the primary (both primary: the lower index). pos_err_km and vel_err_kms
    bound how far each object's state is off SGP4's (interpolation between knots).

    Returns (i, j, tau_s, count): the first min(count, capacity) rows are filled; a count above
    the capacity asks for a second call with room for count rows."""
    n = pos_km.shape[0]
    speed = np.zeros(n)
    rn = np.zeros(n)
    vmax = 0.0
    n_ok = 0
    all_primary = True
    for i in range(n):
        if ok[i]:
            n_ok += 1
            speed[i] = math.sqrt(vel_kms[i, 0] ** 2 + vel_kms[i, 1] ** 2 + vel_kms[i, 2] ** 2)
            rn[i] = math.sqrt(pos_km[i, 0] ** 2 + pos_km[i, 1] ** 2 + pos_km[i, 2] ** 2)
            vmax = max(vmax, speed[i])
            all_primary = all_primary and is_primary[i]
    out_i = np.empty(capacity, np.int64)
    out_j = np.empty(capacity, np.int64)
    out_t = np.empty(capacity, np.float64)
    m = 0
    if n_ok < 2:
        return out_i, out_j, out_t, 0
    v_cap = min(vmax, fast_kms)
    half = 0.5 * dt_s
    # radial interval of each object over the step: two radial filters pass iff they overlap
    # (a hair wider than the exact test, which _test_pair applies)
    r_lo = rn - rho_km - 0.5 * reach0_km - 1e-6
    r_hi = rn + rho_km + 0.5 * reach0_km + 1e-6
    fast = np.zeros(n, np.bool_)
    for i in range(n):
        fast[i] = ok[i] and speed[i] > v_cap
    # one ordinary search radius per cell: the 27 cells around an object hold every partner
    cell = reach0_km + 1.05 * v_cap * dt_s
    nb_ = 1
    while nb_ < 2 * n_ok:
        nb_ *= 2
    mask = nb_ - 1
    key = np.zeros(n, np.int64)
    bkt = np.full(n, -1, np.int64)
    count = np.zeros(nb_ + 1, np.int64)
    for i in range(n):
        if ok[i] and not fast[i]:
            cx = int(math.floor(pos_km[i, 0] / cell))
            cy = int(math.floor(pos_km[i, 1] / cell))
            cz = int(math.floor(pos_km[i, 2] / cell))
            key[i] = _key(cx, cy, cz)
            b = _bucket(cx, cy, cz, mask)
            bkt[i] = b
            count[b + 1] += 1
    for b in range(nb_):
        count[b + 1] += count[b]
    fill = count[:-1].copy()
    nm = count[nb_]
    members = np.empty(nm, np.int64)
    for i in range(n):
        b = bkt[i]
        if b >= 0:
            members[fill[b]] = i
            fill[b] += 1
    # each bucket sorted by (cell, lower end of the radial interval): insertion sort, buckets
    # are small; a cell is then one run of members sorted by radius
    skey = np.empty(nm, np.int64)
    slo = np.empty(nm)
    for b in range(nb_):
        s, e = count[b], count[b + 1]
        for k in range(s, e):
            x = members[k]
            kx, lx = key[x], r_lo[x]
            q = k - 1
            while q >= s and (skey[q] > kx or (skey[q] == kx and slo[q] > lx)):
                members[q + 1] = members[q]
                skey[q + 1] = skey[q]
                slo[q + 1] = slo[q]
                q -= 1
            members[q + 1] = x
            skey[q + 1] = kx
            slo[q + 1] = lx
    # positions and speeds in member order too: the 3-D test of a pair of runs then reads two
    # contiguous blocks instead of scattered rows (cache misses dominated the search); only the
    # all-vs-all walk reads them (in assets mode the assets search the members themselves)
    shi = np.empty(nm)
    spos = np.empty((nm if all_primary else 0, 3))
    sspd = np.empty(nm if all_primary else 0)
    for k in range(nm):
        x = members[k]
        shi[k] = r_hi[x]
        if all_primary:
            spos[k, 0], spos[k, 1], spos[k, 2] = pos_km[x, 0], pos_km[x, 1], pos_km[x, 2]
            sspd[k] = speed[x]
    run_end = np.empty(nm, np.int64)
    run_maxlen = np.zeros(nm)  # longest radial interval of the run, at its start
    for b in range(nb_):
        s, e = count[b], count[b + 1]
        k = s
        while k < e:
            q = k
            longest = 0.0
            while q < e and skey[q] == skey[k]:
                longest = max(longest, shi[q] - slo[q])
                q += 1
            for z in range(k, q):
                run_end[z] = q
            run_maxlen[k] = longest
            k = q
    if all_primary:
        # every unordered pair of neighbouring cells once; inside a pair of cells, a pair of
        # objects whose radial intervals overlap is taken from the one whose interval starts
        # higher (it starts inside the other's), so a merge of two sorted runs finds them all.
        # Cells (runs) in key order: the key is linear in the cell coordinates, so a forward
        # neighbour's key is the cell's key plus a fixed positive offset, and one pointer per
        # offset walks the sorted keys once (a merge join; no hash probes)
        n_runs = 0
        for k in range(nm):
            if k == 0 or run_end[k - 1] != run_end[k]:
                n_runs += 1
        run_start = np.empty(n_runs, np.int64)
        run_key = np.empty(n_runs, np.int64)
        r = 0
        for k in range(nm):
            if k == 0 or run_end[k - 1] != run_end[k]:
                run_start[r] = k
                run_key[r] = skey[k]
                r += 1
        by_key = np.argsort(run_key)
        sorted_key = run_key[by_key]
        sorted_start = run_start[by_key]
        n_fwd = _FORWARD.shape[0]
        fwd_off = np.empty(n_fwd, np.int64)
        for f in range(n_fwd):
            fwd_off[f] = (_FORWARD[f, 0] << 42) + (_FORWARD[f, 1] << 21) + _FORWARD[f, 2]
        ptr = np.zeros(n_fwd, np.int64)
        for ra in range(n_runs):
            a0 = sorted_start[ra]
            a1 = run_end[a0]
            for p in range(a0, a1):
                for q in range(p + 1, a1):
                    if slo[q] > shi[p]:
                        break
                    if not _near(p, q, spos, sspd, reach0_km, half):
                        continue
                    m = _test_pair(members[p], members[q], pos_km, vel_kms, rn, rho_km, pos_err_km, vel_err_kms, speed,
                                   perigee_km, apogee_km, is_primary, reach0_km, band_gap_km,
                                   half, lo_s, hi_s, m, out_i, out_j, out_t)  # fmt: skip
            for f in range(n_fwd):
                want = sorted_key[ra] + fwd_off[f]
                t = ptr[f]
                while t < n_runs and sorted_key[t] < want:
                    t += 1
                ptr[f] = t
                if t == n_runs or sorted_key[t] != want:
                    continue
                b0 = sorted_start[t]
                b1 = run_end[b0]
                # partners in B starting inside each interval of A ...
                q0 = b0
                for p in range(a0, a1):
                    while q0 < b1 and slo[q0] < slo[p]:
                        q0 += 1
                    for q in range(q0, b1):
                        if slo[q] > shi[p]:
                            break
                        if not _near(p, q, spos, sspd, reach0_km, half):
                            continue
                        m = _test_pair(members[p], members[q], pos_km, vel_kms, rn, rho_km,
                                       pos_err_km, vel_err_kms, speed, perigee_km, apogee_km, is_primary, reach0_km,
                                       band_gap_km, half, lo_s, hi_s, m, out_i, out_j, out_t)  # fmt: skip
                # ... and in A starting strictly inside each interval of B
                p0 = a0
                for q in range(b0, b1):
                    while p0 < a1 and slo[p0] <= slo[q]:
                        p0 += 1
                    for p in range(p0, a1):
                        if slo[p] > shi[q]:
                            break
                        if not _near(p, q, spos, sspd, reach0_km, half):
                            continue
                        m = _test_pair(members[p], members[q], pos_km, vel_kms, rn, rho_km,
                                       pos_err_km, vel_err_kms, speed, perigee_km, apogee_km, is_primary, reach0_km,
                                       band_gap_km, half, lo_s, hi_s, m, out_i, out_j, out_t)  # fmt: skip
    for i in range(n):
        # own searches: fast objects (own reach) against the ordinary ones; in assets mode every
        # asset; both sides of the radial interval
        if not ok[i]:
            continue
        if not (fast[i] or (is_primary[i] and not all_primary)):
            continue
        reach = reach0_km + 1.05 * (speed[i] + v_cap) * half
        x0 = int(math.floor((pos_km[i, 0] - reach) / cell))
        x1 = int(math.floor((pos_km[i, 0] + reach) / cell))
        y0 = int(math.floor((pos_km[i, 1] - reach) / cell))
        y1 = int(math.floor((pos_km[i, 1] + reach) / cell))
        z0 = int(math.floor((pos_km[i, 2] - reach) / cell))
        z1 = int(math.floor((pos_km[i, 2] + reach) / cell))
        for ax in range(x0, x1 + 1):
            for ay in range(y0, y1 + 1):
                for az in range(z0, z1 + 1):
                    s = _find_run(ax, ay, az, mask, count, skey, run_end)
                    if s < 0:
                        continue
                    e = run_end[s]
                    start = r_lo[i] - run_maxlen[s]
                    a0, a1 = s, e
                    while a0 < a1:
                        mid = (a0 + a1) // 2
                        if slo[mid] < start:
                            a0 = mid + 1
                        else:
                            a1 = mid
                    for k in range(a0, e):
                        if slo[k] > r_hi[i]:
                            break
                        if shi[k] < r_lo[i]:
                            continue
                        j = members[k]
                        if j == i:
                            continue
                        if fast[i]:
                            if not (is_primary[i] or is_primary[j]):
                                continue
                        elif is_primary[j] and j < i:
                            continue  # both assets: from the lower index
                        m = _test_pair(i, j, pos_km, vel_kms, rn, rho_km, pos_err_km, vel_err_kms, speed, perigee_km,
                                       apogee_km, is_primary, reach0_km, band_gap_km, half, lo_s,
                                       hi_s, m, out_i, out_j, out_t)  # fmt: skip
    fl = np.flatnonzero(fast)
    for a in range(fl.size):  # fast-fast: exact, every pair (few)
        for c in range(a + 1, fl.size):
            i, j = fl[a], fl[c]
            if not (is_primary[i] or is_primary[j]):
                continue
            m = _test_pair(i, j, pos_km, vel_kms, rn, rho_km, pos_err_km, vel_err_kms, speed, perigee_km, apogee_km,
                           is_primary, reach0_km, band_gap_km, half, lo_s, hi_s, m, out_i, out_j, out_t)  # fmt: skip
    return out_i, out_j, out_t, m


@nb.njit(cache=True, inline="always")
def _test_pair(
    i, j, pos, vel, rn, rho, pos_err, vel_err, speed, perigee, apogee, is_primary, reach0, band_gap, half, lo, hi, m,
    out_i, out_j, out_t,
):  # fmt: skip
    """Radial, 3-D reach, band and linear closest-approach tests of one pair; appends it and
    returns the new count (rows past the capacity are counted, not written)."""
    if abs(rn[i] - rn[j]) > reach0 + rho[i] + rho[j]:
        return m
    dx = pos[j, 0] - pos[i, 0]
    dy = pos[j, 1] - pos[i, 1]
    dz = pos[j, 2] - pos[i, 2]
    lim = reach0 + 1.05 * (speed[i] + speed[j]) * half
    d2 = dx * dx + dy * dy + dz * dz
    if d2 > lim * lim:
        return m
    gap = max(perigee[i], perigee[j]) - min(apogee[i], apogee[j])
    if gap > band_gap:
        return m
    ux = vel[j, 0] - vel[i, 0]
    uy = vel[j, 1] - vel[i, 1]
    uz = vel[j, 2] - vel[i, 2]
    u2 = ux * ux + uy * uy + uz * uz
    tau = -(dx * ux + dy * uy + dz * uz) / (u2 if u2 > 0 else 1.0)
    # A minimum well outside this interval belongs to a neighbour step, which finds it (duplicates
    # merge after refinement). "Well outside" allows for everything the linear model misses: the
    # true relative motion is d + u t + E(t) with |E| <= B = P + V |t| + A t^2 / 2 and
    # |E'| <= B' = V + A |t| (P, V: both states' errors against SGP4; A: the relative
    # acceleration), so the range-rate differs from the linear d.u + u^2 t by at most
    # (|d| + |u| h) B' + |u| B + B B' at |t| <= h, and a root inside the interval lies within
    # that / u^2 of tau. A: the gravity gradient (at most 2 mu s / r^3 at separation s; 3 for
    # room) over the largest separation in the step, plus J2 and drag. Fast pairs get a fraction
    # of a second; slow ones (two objects of one launch drifting apart at metres per second) get
    # minutes, or no limit, where a fixed slack lost NORAD 51832 / 51833 on 2022-07-14: tau
    # +32.7 s from one step and -34.4 s from the next, both outside +-32 s, and the encounter
    # (6.64 km) in neither.
    h = max(-lo, hi)
    d_n = math.sqrt(d2)
    u_n = math.sqrt(u2)
    r_min = max(min(rn[i] - rho[i], rn[j] - rho[j]), 1000.0)
    acc = 3.0 * MU_WGS72_KM3_S2 * (d_n + u_n * h) / (r_min * r_min * r_min) + _REL_ACC_PAD_KMS2
    v_err = vel_err[i] + vel_err[j]
    b0 = pos_err[i] + pos_err[j] + v_err * h + 0.5 * acc * h * h
    b1 = v_err + acc * h
    bound = (d_n + u_n * h) * b1 + u_n * b0 + b0 * b1
    if u2 * (lo - _TAU_SLACK_S - tau) > bound or u2 * (tau - hi - _TAU_SLACK_S) > bound:
        return m
    tc = min(max(tau, lo), hi)
    ex, ey, ez = dx + ux * tc, dy + uy * tc, dz + uz * tc
    if ex * ex + ey * ey + ez * ez > reach0 * reach0:
        return m
    a, b = i, j
    if is_primary[a] and is_primary[b]:
        if b < a:
            a, b = b, a
    elif not is_primary[a]:
        a, b = b, a
    if m < out_i.size:
        out_i[m] = a
        out_j[m] = b
        out_t[m] = tc
    return m + 1


@nb.njit(cache=True)
def hermite_states(r_km, v_kms, a, u, h_s, pos_km, vel_kms, first):
    """Cubic Hermite position and velocity at fraction u of knot interval a (knots h_s seconds
    apart) for every object of a knot group (r_km, v_kms: knots x objects x 3), written to rows
    first, first + 1, ... of pos_km and vel_kms; u == 0 copies SGP4's own knot state."""
    u2, u3 = u * u, u * u * u
    h00, h10, h01, h11 = 2 * u3 - 3 * u2 + 1, (u3 - 2 * u2 + u) * h_s, -2 * u3 + 3 * u2, (u3 - u2) * h_s
    d00, d10 = (6 * u2 - 6 * u) / h_s, 3 * u2 - 4 * u + 1
    d01, d11 = (-6 * u2 + 6 * u) / h_s, 3 * u2 - 2 * u
    for x in range(r_km.shape[1]):
        for c in range(3):
            r0, v0, r1, v1 = r_km[a, x, c], v_kms[a, x, c], r_km[a + 1, x, c], v_kms[a + 1, x, c]
            if u == 0.0:
                pos_km[first + x, c] = r0
                vel_kms[first + x, c] = v0
            else:
                pos_km[first + x, c] = h00 * r0 + h10 * v0 + h01 * r1 + h11 * v1
                vel_kms[first + x, c] = d00 * r0 + d10 * v0 + d01 * r1 + d11 * v1


@nb.njit(cache=True)
def radial_reach(pos_km, vel_kms, ok, half_s, mu_km3_s2, acc_pad_kms2, pad_km):
    """kizuna.sda.screening.radial_reach_km for every object, compiled; inf where not ok."""
    n = pos_km.shape[0]
    out = np.full(n, np.inf)
    for i in range(n):
        if not ok[i]:
            continue
        x, y, z = pos_km[i, 0], pos_km[i, 1], pos_km[i, 2]
        vx, vy, vz = vel_kms[i, 0], vel_kms[i, 1], vel_kms[i, 2]
        r = math.sqrt(x * x + y * y + z * z)
        rv = x * vx + y * vy + z * vz
        v2 = vx * vx + vy * vy + vz * vz
        k = v2 - mu_km3_s2 / r
        ex = (k * x - rv * vx) / mu_km3_s2
        ey = (k * y - rv * vy) / mu_km3_s2
        ez = (k * z - rv * vz) / mu_km3_s2
        ecc = math.sqrt(ex * ex + ey * ey + ez * ez)
        r_min = max(r - math.sqrt(v2) * half_s, 6000.0)
        acc = mu_km3_s2 * (ecc + 0.002) / (r_min * r_min) + acc_pad_kms2
        out[i] = abs(rv / r) * half_s + 0.5 * acc * half_s * half_s + pad_km
    return out
