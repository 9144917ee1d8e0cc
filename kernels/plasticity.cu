// plasticity: trace-based STDP on a projection's ragged matrix, applied
// lazily in rows (below; snnlab/plasticity for the timing rules).  Each
// synapse is written by one thread: on the CPU the rows are split by target
// range (SNN_ROW_BLOCKS), evenly, not by the target population's partition
// between the threads (snn_own): the driver places a barrier between these
// kernels and propagation, and a plastic projection onto part of a
// population (hpc_benchmark's E->E) keeps its work balanced so.
//
// p = {depress, facilitate, mu, decay_x, decay_y, kind, w_min, w_max, nearest}
// (snnlab/plasticity.py, STDP.encode); kind: 0 power law, 1 additive,
// 2 multiplicative.  Weights stay in [w_min, w_max].
#include "common.h"

enum { SNN_STDP_POWER_LAW = 0, SNN_STDP_ADDITIVE = 1, SNN_STDP_MULTIPLICATIVE = 2 };

SNN_DEVICE SNN_INLINE double snn_clamp(double w, double lo, double hi) {
    return w < lo ? lo : (w > hi ? hi : w);
}

// depression at a presynaptic spike, y = the postsynaptic trace
SNN_DEVICE SNN_INLINE double snn_stdp_depress(double w, double y, const double *p) {
    const int kind = (int)p[5];
    const double d = kind == SNN_STDP_POWER_LAW ? p[0] * w * y
                     : kind == SNN_STDP_ADDITIVE ? p[0] * y
                                                 : p[0] * (w - p[6]) * y;
    return snn_clamp(w - d, p[6], p[7]);
}

// ---------------------------------------------------------------------------
// Lazy STDP, as NEST applies it: every synapse is touched only in its row,
// at its presynaptic neuron's spikes,
// where the potentiation owed to the target's spikes since the row was last
// brought up to date is applied first, in time order, then the depression.
// Rows are contiguous: no column view, no scattered weights.
//
// Each target keeps its last K spikes (K a power of two) as the synapses
// see them: stamp = step + D (D, the dendritic delay in steps: NEST's
// convention, in which the synapse sees a postsynaptic spike d after the
// soma), with the postsynaptic trace just after each (y_after); and its
// newest SNN_STDP_RECENT stamps, newest first, in one dense array (recent:
// one cache line, where the ring would cost a miss per synapse; a synapse
// owes more only when its target fired eight times since the row's last
// spike).  Each row
// keeps its trace just after its last spike (x_last, at step t_pre) and the
// stamp up to which it has been brought (t_proc).  A row is brought up to
// date early ("flushed") when a target's ring would otherwise drop a spike
// the row still needs (stdp_lazy_prepare), and by the host before any read
// or edit of the weights, and by a rewiring rule before it runs on the row
// (rewiring.cu): every (synapse, spike) pair is applied once, with
// the same trace values, whenever it is applied, so flushes never change a
// result.
//
// tables (snnlab/state/stdp.py, lazy_tables): [0, 2048) exp(-n dt / tau_plus)
// for n < 1024, exp(-1024 m dt / tau_plus) at 1024 + m (m < 1023), -dt /
// tau_plus at 2047; [2048, 4096) the same for tau_minus; then
// snn_pow_table's tables of mu.
// p[9]: 1 when a pre and a (seen) post spike of one step form no pair
// (NEST), 0 when they count as causal; p[10]: D.

#define SNN_STDP_NEVER (-((int64_t)1 << 40))  // t_pre of a row that never spiked
#define SNN_STDP_RECENT 8  // newest stamps per target in `recent` (snnlab.plan.LAZY_RECENT)

SNN_DEVICE SNN_INLINE double snn_decay(const double *t, int64_t n) {
    // t[n] = exp(-n dt/tau) and t[1024 + m] = exp(-1024 m dt/tau) for m < 1023;
    // t[2047] = -dt/tau for longer gaps (the portable exp)
    if (n < 1023 * 1024) return t[1024 + (n >> 10)] * t[n & 1023];
    return snn_exp((double)n * t[2047]);
}

// x^mu for x > 0 (0 otherwise; x comes from a float32 weight, so it is
// never subnormal here) from tables of the rule's mu and IEEE-exact
// operations (the same on both targets), relative error about 1e-11:
// x^mu = 2^(e mu) c^mu (1 + r)^mu, c = 1 + k/256 from the top mantissa
// bits, 0 <= r < 1/256, (1 + r)^mu by its series to r^3.  This is the cost
// of power-law STDP: no conversion between integers and doubles, a dozen
// operations.  T (snnlab/state/stdp.py, lazy_tables): c^mu[256], 1/c[256],
// 2^((b - 1023) mu)[2048] for the biased exponent b, then the series'
// coefficients mu, mu (mu - 1) / 2, mu (mu - 1) (mu - 2) / 6.
SNN_DEVICE SNN_INLINE double snn_pow_table(double x, const double *T) {
    if (!(x > 0.0)) return 0.0;
    const uint64_t bits = SNN_DOUBLE_BITS(x);
    const uint64_t k = (bits >> 44) & 255, b = bits >> 52;
    const double m = SNN_BITS_DOUBLE((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    const double c = SNN_BITS_DOUBLE((bits & 0x000ff00000000000ull) | 0x3ff0000000000000ull);
    const double r = (m - c) * T[256 + k];
    const double s = 1.0 + r * (T[2560] + r * (T[2561] + r * T[2562]));
    return T[k] * s * T[512 + b];
}

SNN_DEVICE SNN_INLINE double snn_lazy_facilitate(double w, double x, const double *p,
                                                 const double *pow_table) {
    const int kind = (int)p[5];
    const double f = kind == SNN_STDP_POWER_LAW ? p[1] * snn_pow_table(w, pow_table) * x
                     : kind == SNN_STDP_ADDITIVE ? p[1] * x
                                                 : p[1] * (p[7] - w) * x;
    return snn_clamp(w + f, p[6], p[7]);
}

// The potentiation a synapse onto `post` is owed from the ring: the
// target's seen spikes with stamps in (t_proc, cut], in time order, with the
// row's trace then (for the few synapses that owe more than `recent` holds:
// snn_lazy_block).
SNN_DEVICE SNN_INLINE float snn_lazy_catch_up(float w, int64_t post, int64_t t_proc, int64_t cut,
                                              double x_last, int64_t t_pre,
                                              const int64_t *SNN_RESTRICT stamp,
                                              const int64_t *SNN_RESTRICT count,
                                              const int64_t K, const double *p,
                                              const double *tables) {
    const int64_t c = count[post], n = c < K ? c : K;
    const int64_t *st = stamp + post * K;
    int64_t m = 0;
    while (m < n && st[(c - 1 - m) & (K - 1)] > t_proc) ++m;
    for (int64_t k = c - m; k < c; ++k) {
        const int64_t t = st[k & (K - 1)];
        if (t > cut) break;
        w = (float)snn_lazy_facilitate((double)w, x_last * snn_decay(tables, t - t_pre), p,
                                       tables + 4096);
    }
    return w;
}

// The postsynaptic trace target j shows this step's presynaptic spikes:
// its seen spikes of earlier steps only.
SNN_DEVICE SNN_INLINE double snn_lazy_y(int64_t j, int64_t now,
                                        const int64_t *SNN_RESTRICT stamp,
                                        const double *SNN_RESTRICT y_after,
                                        const int64_t *SNN_RESTRICT count, const int64_t K,
                                        const double *tables) {
    const int64_t c = count[j], n = c < K ? c : K;
    for (int64_t m = 0; m < n; ++m) {
        const int64_t slot = j * K + ((c - 1 - m) & (K - 1));
        if (stamp[slot] < now) return y_after[slot] * snn_decay(tables + 2048, now - stamp[slot]);
    }
    return 0.0;
}

#ifdef SNN_AVX512
// Eight lanes of the scalar helpers above, operation for operation.
SNN_INLINE __m512d snn_clamp_x8(__m512d w, double lo, double hi) {
    const __m512d l = _mm512_set1_pd(lo), h = _mm512_set1_pd(hi);
    const __m512d r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(w, h, _CMP_GT_OQ), w, h);
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(w, l, _CMP_LT_OQ), r, l);
}

SNN_INLINE __m512d snn_pow_table_x8(__m512d x, const double *T) {
    const __m512d z = _mm512_setzero_pd();
    const __mmask8 pos = _mm512_cmp_pd_mask(x, z, _CMP_GT_OQ);
    const __m512i bits = _mm512_castpd_si512(x), one = _mm512_set1_epi64(0x3ff0000000000000ll);
    const __m512i k = _mm512_and_si512(_mm512_srli_epi64(bits, 44), _mm512_set1_epi64(255));
    const __m512i b = _mm512_srli_epi64(bits, 52);
    const __m512d m = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000fffffffffffffll)), one));
    const __m512d c = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi64(0x000ff00000000000ll)), one));
    const __m512d r =
        _mm512_mul_pd(_mm512_sub_pd(m, c), _mm512_mask_i64gather_pd(z, pos, k, T + 256, 8));
    const __m512d s3 = _mm512_add_pd(_mm512_set1_pd(T[2561]),
                                     _mm512_mul_pd(r, _mm512_set1_pd(T[2562])));
    const __m512d s2 = _mm512_add_pd(_mm512_set1_pd(T[2560]), _mm512_mul_pd(r, s3));
    const __m512d s = _mm512_add_pd(_mm512_set1_pd(1.0), _mm512_mul_pd(r, s2));
    // the weights of a row mostly share their exponent: one load, not a gather
    const int64_t b0 = _mm_cvtsi128_si64(_mm512_castsi512_si128(b));
    const bool one_b =
        (pos & 1) && _mm512_mask_cmpeq_epi64_mask(pos, b, _mm512_set1_epi64(b0)) == pos;
    const __m512d tb = one_b ? _mm512_set1_pd(T[512 + b0])
                             : _mm512_mask_i64gather_pd(z, pos, b, T + 512, 8);
    return _mm512_maskz_mul_pd(pos, _mm512_mul_pd(_mm512_mask_i64gather_pd(z, pos, k, T, 8), s),
                               tb);
}

SNN_INLINE __m512d snn_lazy_facilitate_x8(__m512d w, __m512d x, const double *p,
                                          const double *pow_table) {
    const int kind = (int)p[5];
    const __m512d p1 = _mm512_set1_pd(p[1]);
    const __m512d f =
        kind == SNN_STDP_POWER_LAW
            ? _mm512_mul_pd(_mm512_mul_pd(p1, snn_pow_table_x8(w, pow_table)), x)
        : kind == SNN_STDP_ADDITIVE
            ? _mm512_mul_pd(p1, x)
            : _mm512_mul_pd(_mm512_mul_pd(p1, _mm512_sub_pd(_mm512_set1_pd(p[7]), w)), x);
    return snn_clamp_x8(_mm512_add_pd(w, f), p[6], p[7]);
}

SNN_INLINE __m512d snn_stdp_depress_x8(__m512d w, __m512d y, const double *p) {
    const int kind = (int)p[5];
    const __m512d p0 = _mm512_set1_pd(p[0]);
    const __m512d d =
        kind == SNN_STDP_POWER_LAW ? _mm512_mul_pd(_mm512_mul_pd(p0, w), y)
        : kind == SNN_STDP_ADDITIVE
            ? _mm512_mul_pd(p0, y)
            : _mm512_mul_pd(_mm512_mul_pd(p0, _mm512_sub_pd(w, _mm512_set1_pd(p[6]))), y);
    return snn_clamp_x8(_mm512_sub_pd(w, d), p[6], p[7]);
}

SNN_INLINE __mmask8 snn_lanes_x8(int64_t left) {
    return (__mmask8)(left >= 8 ? 0xff : (1u << left) - 1);
}

// snn_lazy_block eight synapses at a time, for blocks of at least
// SNN_X8_MIN synapses (shorter ones, as in the topographic map's rows of a
// handful, stay scalar) whose gaps the decay tables cover (cut - tpre <
// 1023 * 1024): each synapse's owed count from one compare of its target's
// `recent` line; the rounds with gathers and scatters (a synapse is in a
// round at most once); the depression over the contiguous block.  Not
// inlined: its callers' scalar code stays as it was.
#ifndef SNN_X8_MIN
#define SNN_X8_MIN 16
#endif
__attribute__((noinline)) static void snn_lazy_block_x8(
    const int32_t *SNN_RESTRICT row, float *SNN_RESTRICT w_row, int64_t jb, int64_t je,
    int64_t tp, int64_t cut, double xl, int64_t tpre, const int64_t *SNN_RESTRICT recent,
    const int64_t *SNN_RESTRICT stamp, const int64_t *SNN_RESTRICT count, const int64_t K,
    const double *SNN_RESTRICT y_now, const double *SNN_RESTRICT y_after, int64_t now,
    int depress, const double *p, const double *tables) {
    // owed synapse q: its place j = oj[q] in the row, and os[q], the place in
    // `recent` of the oldest stamp it is still owed (its target's line
    // starts at os[q] & ~7, so os[q] & 7 more are owed after this one)
    int64_t oj[SNN_ROW_BLOCK + 8], os[SNN_ROW_BLOCK + 8];
    int64_t n = 0;
    if (xl != 0.0) {
        const __m512i vtp = _mm512_set1_epi64(tp);
        for (int64_t j = jb; j < je; ++j) {
            const int64_t rr = (int64_t)row[j] * SNN_STDP_RECENT;
            const int m = __builtin_popcount(
                _mm512_cmpgt_epi64_mask(_mm512_loadu_si512(recent + rr), vtp));
            if (m == SNN_STDP_RECENT) {  // perhaps more: from the ring, now
                w_row[j] = snn_lazy_catch_up(w_row[j], row[j], tp, cut, xl, tpre, stamp, count,
                                             K, p, tables);
                continue;
            }
            oj[n] = j;
            os[n] = rr + m - 1;
            n += m > 0;
        }
    }
    const __m512d z = _mm512_setzero_pd(), vxl = _mm512_set1_pd(xl);
    const __m512i one = _mm512_set1_epi64(1), seven = _mm512_set1_epi64(SNN_STDP_RECENT - 1),
                  vcut = _mm512_set1_epi64(cut), vtpre = _mm512_set1_epi64(tpre),
                  lo10 = _mm512_set1_epi64(1023), hi10 = _mm512_set1_epi64(1024);
    while (n > 0) {
        int64_t next = 0;
        for (int64_t q = 0; q < n; q += 8) {
            const __mmask8 live = snn_lanes_x8(n - q);
            const __m512i j = _mm512_maskz_loadu_epi64(live, oj + q);
            const __m512i o = _mm512_maskz_loadu_epi64(live, os + q);
            const __m512i t =
                _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), live, o, recent, 8);
            const __mmask8 seen = _mm512_mask_cmple_epi64_mask(live, t, vcut);
            const __m512i d = _mm512_maskz_sub_epi64(seen, t, vtpre);
            // (gaps under 1024 steps, most: tables[1024] = 1, no gather)
            const __mmask8 far = _mm512_mask_cmpgt_epi64_mask(seen, d, lo10);
            const __m512d one_d = _mm512_set1_pd(tables[1024]);
            const __m512d hi =
                far ? _mm512_mask_i64gather_pd(
                          one_d, far, _mm512_add_epi64(_mm512_srli_epi64(d, 10), hi10), tables, 8)
                    : one_d;
            const __m512d decay = _mm512_mul_pd(
                hi, _mm512_mask_i64gather_pd(z, seen, _mm512_and_si512(d, lo10), tables, 8));
            const __m512d x = _mm512_maskz_mul_pd(seen, vxl, decay);
            const __m512d w = _mm512_cvtps_pd(
                _mm512_mask_i64gather_ps(_mm256_setzero_ps(), seen, j, w_row, 4));
            _mm512_mask_i64scatter_ps(
                w_row, seen, j, _mm512_cvtpd_ps(snn_lazy_facilitate_x8(w, x, p, tables + 4096)),
                4);
            const __mmask8 more = _mm512_mask_test_epi64_mask(seen, o, seven);
            // (next <= q: the compressed lanes land on entries already read)
            _mm512_storeu_si512(oj + next, _mm512_maskz_compress_epi64(more, j));
            _mm512_storeu_si512(os + next,
                                _mm512_maskz_compress_epi64(more, _mm512_sub_epi64(o, one)));
            next += __builtin_popcount(more);
        }
        n = next;
    }
    if (depress && y_now) {
        for (int64_t j = jb; j < je; j += 8) {
            const __mmask8 live = snn_lanes_x8(je - j);
            const __m512d y = _mm512_mask_i32gather_pd(
                z, live, _mm256_maskz_loadu_epi32(live, row + j), y_now, 8);
            const __m512d w = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(live, w_row + j));
            _mm256_mask_storeu_ps(w_row + j, live, _mm512_cvtpd_ps(snn_stdp_depress_x8(w, y, p)));
        }
    } else if (depress) {
        for (int64_t j = jb; j < je; ++j)
            w_row[j] = (float)snn_stdp_depress(
                (double)w_row[j], snn_lazy_y(row[j], now, stamp, y_after, count, K, tables), p);
    }
}
#endif

// One block [jb, je) of a row: the synapses owed potentiation found (their
// target's newest stamp is past t_proc), then brought up to date in rounds,
// the oldest owed spike of each in the first round, the next in the second,
// and so on (from the newest stamps, recent; from the ring when all of
// those are owed); then (depress) the depression of all.  No branch in a
// round depends on the data: the arithmetic of neighbouring synapses
// overlaps instead of waiting on mispredictions.
SNN_DEVICE SNN_INLINE void snn_lazy_block(const int32_t *SNN_RESTRICT row,
                                          float *SNN_RESTRICT w_row, int64_t jb, int64_t je,
                                          int64_t tp, int64_t cut, double xl, int64_t tpre,
                                          const int64_t *SNN_RESTRICT recent,
                                          const int64_t *SNN_RESTRICT stamp,
                                          const int64_t *SNN_RESTRICT count,
                                          const int64_t K, const double *SNN_RESTRICT y_now,
                                          const double *SNN_RESTRICT y_after, int64_t now,
                                          int depress, const double *p, const double *tables) {
#ifdef SNN_AVX512
    if (je - jb >= SNN_X8_MIN && (xl == 0.0 || cut - tpre < 1023 * 1024)) {
        snn_lazy_block_x8(row, w_row, jb, je, tp, cut, xl, tpre, recent, stamp, count, K, y_now,
                          y_after, now, depress, p, tables);
        return;
    }
#endif
    int32_t owed[SNN_ROW_BLOCK];
    int32_t left[SNN_ROW_BLOCK];  // owed spikes not yet applied
    int64_t n_owed = 0;
    if (xl != 0.0) {
        for (int64_t j = jb; j < je; ++j) {
            owed[n_owed] = (int32_t)(j - jb);
            n_owed += (int64_t)(recent[(int64_t)row[j] * SNN_STDP_RECENT] > tp);
        }
    }
    int64_t n = 0;
    for (int64_t q = 0; q < n_owed; ++q) {
        const int64_t j = jb + owed[q];
        const int64_t *r = recent + (int64_t)row[j] * SNN_STDP_RECENT;
        int32_t m = 1;
        for (int32_t k = 1; k < SNN_STDP_RECENT; ++k) m += (int32_t)(r[k] > tp);
        if (m == SNN_STDP_RECENT) {  // perhaps more: from the ring, now
            w_row[j] = snn_lazy_catch_up(w_row[j], row[j], tp, cut, xl, tpre, stamp, count, K,
                                         p, tables);
            continue;
        }
        owed[n] = owed[q];
        left[n] = m;
        ++n;
    }
    while (n > 0) {
        int64_t next = 0;
        for (int64_t q = 0; q < n; ++q) {
            const int64_t j = jb + owed[q];
            const int32_t o = owed[q], m = left[q];
            const int64_t t = recent[(int64_t)row[j] * SNN_STDP_RECENT + m - 1];
            const int seen = t <= cut;
            const double x = seen ? xl * snn_decay(tables, seen ? t - tpre : 0) : 0.0;
            // (not seen yet: w as it is, not even clamped to the bounds)
            const float wf = (float)snn_lazy_facilitate((double)w_row[j], x, p, tables + 4096);
            w_row[j] = seen ? wf : w_row[j];
            owed[next] = o;
            left[next] = m - 1;
            next += (int64_t)((m > 1) & seen);
        }
        n = next;
    }
    if (depress && y_now)  // (the targets' traces computed for this step: snn_lazy_dense_y)
        for (int64_t j = jb; j < je; ++j)
            w_row[j] = (float)snn_stdp_depress((double)w_row[j], y_now[row[j]], p);
    else if (depress)
        for (int64_t j = jb; j < je; ++j)
            w_row[j] = (float)snn_stdp_depress(
                (double)w_row[j], snn_lazy_y(row[j], now, stamp, y_after, count, K, tables), p);
}

// Before this step's spikes enter the rings: the stamp below which rows
// must be brought up to date so that no spike they need is dropped (for
// each target whose ring is full, the stamp K/2 spikes after its oldest, so
// that the next flush it causes is K/2 spikes away).
SNN_KERNEL void stdp_lazy_prepare(const int32_t *spikes, const int32_t *n_spikes,
                                  const int64_t *SNN_RESTRICT stamp,
                                  const int64_t *SNN_RESTRICT count, const int64_t K,
                                  int64_t *flush) {
    SNN_SERIAL {
        int64_t thr = SNN_STDP_NEVER;
        const int32_t ns = *n_spikes;
        for (int32_t s = 0; s < ns; ++s) {
            const int64_t j = spikes[s], c = count[j];
            if (c >= K) {
                const int64_t e = stamp[j * K + ((c - K / 2) & (K - 1))];
                thr = e > thr ? e : thr;
            }
        }
        flush[0] = thr;
    }
}

// Rows with t_proc < flush[0] brought up to stamp step - 1 (the host sets
// flush[0] past every row to flush them all between steps).
SNN_KERNEL void stdp_lazy_flush(const int64_t n_pre, const int32_t *SNN_RESTRICT row_length,
                                const int32_t *SNN_RESTRICT ind, const int64_t cap,
                                float *SNN_RESTRICT weight, const int64_t n_post,
                                const double *SNN_RESTRICT x_last,
                                const int64_t *SNN_RESTRICT t_pre, const int64_t *t_proc,
                                const int64_t *SNN_RESTRICT recent,
                                const int64_t *SNN_RESTRICT stamp,
                                const int64_t *SNN_RESTRICT count, const int64_t K,
                                const int64_t *flush, const int64_t *step_ptr, const double *p,
                                const double *tables) {
    const int64_t thr = flush[0], cut = *step_ptr - 1;
    if (thr == SNN_STDP_NEVER) return;  // (most steps: no ring is full)
    SNN_FOR_ROWS(i, n_pre) {
        const int64_t tp = t_proc[i];
        if (tp < thr && x_last[i] != 0.0) {
            const int32_t *row = ind + i * cap;
            float *w_row = weight + i * cap;
            const double xl = x_last[i];
            const int64_t tpre = t_pre[i];
            SNN_ROW_BLOCKS(jb, je, row, row_length[i], n_post)
                snn_lazy_block(row, w_row, jb, je, tp, cut, xl, tpre, recent, stamp, count, K, 0,
                               0, 0, 0, p, tables);
        }
    }
    SNN_ROWS_END;
}

SNN_KERNEL void stdp_lazy_flush_done(const int64_t n_pre, int64_t *t_proc, const int64_t *flush,
                                     const int64_t *step_ptr) {
    const int64_t thr = flush[0], cut = *step_ptr - 1;
    if (thr == SNN_STDP_NEVER) return;
    SNN_LOOP(i, n_pre) if (t_proc[i] < thr) t_proc[i] = cut;
}

// This step's postsynaptic spikes into the rings, stamped step + D.
SNN_KERNEL void stdp_lazy_push(const int32_t *spikes, const int32_t *n_spikes,
                               int64_t *SNN_RESTRICT stamp, double *SNN_RESTRICT y_after,
                               int64_t *SNN_RESTRICT count, int64_t *SNN_RESTRICT recent,
                               const int64_t K, const int64_t *step_ptr, const double *p,
                               const double *tables) {
    const int32_t ns = *n_spikes;
    const int64_t now = *step_ptr + (int64_t)p[10];
    const int32_t nearest = (int32_t)p[8];
    SNN_LOOP(s, ns) {
        const int64_t j = spikes[s], c = count[j];
        int64_t *r = recent + j * SNN_STDP_RECENT;
        double y = 1.0;
        if (!nearest && c > 0)
            y += y_after[j * K + ((c - 1) & (K - 1))] * snn_decay(tables + 2048, now - r[0]);
        stamp[j * K + (c & (K - 1))] = now;
        y_after[j * K + (c & (K - 1))] = y;
        count[j] = c + 1;
        for (int32_t k = SNN_STDP_RECENT - 1; k > 0; --k) r[k] = r[k - 1];
        r[0] = now;
    }
}

// Whether this step's depression reads the targets' traces from y_now (all
// computed once, stdp_lazy_post_trace) rather than each synapse its own from
// the ring: where the rows of this step's presynaptic spikes hold at least
// as many synapses as there are targets (hpc_benchmark: rows of thousands),
// not where a few short rows spike (the topographic map: a dozen synapses a
// row, 25 000 targets).  Both kernels ask; the values are the same either way.
SNN_DEVICE SNN_INLINE bool snn_lazy_dense_y(const int32_t *spikes, const int32_t *n_spikes,
                                            const int32_t *row_length, int64_t n_post) {
    const int32_t ns = *n_spikes;
    int64_t work = 0;
    for (int32_t s = 0; s < ns && work < n_post; ++s) work += row_length[spikes[s]];
    return work >= n_post;
}

SNN_KERNEL void stdp_lazy_post_trace(const int64_t n_post, const int64_t *SNN_RESTRICT stamp,
                                     const double *SNN_RESTRICT y_after,
                                     const int64_t *SNN_RESTRICT count, const int64_t K,
                                     double *SNN_RESTRICT y_now, const int64_t *step_ptr,
                                     const double *tables, const int32_t *pre_spikes,
                                     const int32_t *n_pre_spikes, const int32_t *row_length) {
    if (!snn_lazy_dense_y(pre_spikes, n_pre_spikes, row_length, n_post)) return;
    const int64_t now = *step_ptr;
    SNN_LOOP(j, n_post) y_now[j] = snn_lazy_y(j, now, stamp, y_after, count, K, tables);
}

// The rows of this step's presynaptic spikes: what each synapse is owed,
// then the depression; the spike is then transmitted with the new weight.
SNN_KERNEL void stdp_lazy_pre(const int32_t *spikes, const int32_t *n_spikes,
                              const int32_t *SNN_RESTRICT row_length,
                              const int32_t *SNN_RESTRICT ind, const int64_t cap,
                              float *SNN_RESTRICT weight, const int64_t n_post,
                              const double *SNN_RESTRICT x_last,
                              const int64_t *SNN_RESTRICT t_pre,
                              const int64_t *SNN_RESTRICT t_proc,
                              const int64_t *SNN_RESTRICT recent,
                              const int64_t *SNN_RESTRICT stamp,
                              const int64_t *SNN_RESTRICT count, const int64_t K,
                              const double *SNN_RESTRICT y_now,
                              const double *SNN_RESTRICT y_after, const int64_t *step_ptr,
                              const double *p, const double *tables) {
    const int32_t ns = *n_spikes;
    const int64_t now = *step_ptr, cut = now - 1 + (int64_t)p[9];
    const double *y = snn_lazy_dense_y(spikes, n_spikes, row_length, n_post) ? y_now : 0;
    SNN_FOR_ROWS(s, ns) {
        const int64_t i = spikes[s], tp = t_proc[i], tpre = t_pre[i];
        const double xl = x_last[i];
        const int32_t *row = ind + i * cap;
        float *w_row = weight + i * cap;
        SNN_ROW_BLOCKS(jb, je, row, row_length[i], n_post)
            snn_lazy_block(row, w_row, jb, je, tp, cut, xl, tpre, recent, stamp, count, K, y,
                           y_after, now, 1, p, tables);
    }
    SNN_ROWS_END;
}

SNN_KERNEL void stdp_lazy_pre_done(const int32_t *spikes, const int32_t *n_spikes,
                                   double *SNN_RESTRICT x_last, int64_t *SNN_RESTRICT t_pre,
                                   int64_t *SNN_RESTRICT t_proc, const int64_t *step_ptr,
                                   const double *p, const double *tables) {
    const int32_t ns = *n_spikes;
    const int64_t now = *step_ptr;
    const int32_t nearest = (int32_t)p[8];
    SNN_LOOP(s, ns) {
        const int64_t i = spikes[s];
        x_last[i] = nearest ? 1.0 : x_last[i] * snn_decay(tables, now - t_pre[i]) + 1.0;
        t_pre[i] = now;
        t_proc[i] = now - 1 + (int64_t)p[9];
    }
}
