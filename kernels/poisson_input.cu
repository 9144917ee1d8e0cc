// poisson_input: an independent Poisson spike train into every neuron of a
// population, added to the input of the current step (no synapses stored).
//
// The count of one step is drawn by inversion of the cumulative distribution
// F from a 32-bit uniform x: k is the number of thresholds T[k] below x,
// T[k] = floor(F[k] 2^32 - 1/2).  The GPU searches with a guide table (Chen
// & Asau 1974) G[b], the first k whose threshold the bucket b = x >> 24 can
// exceed, so the search starts next to its answer; the CPU counts the
// thresholds below x for many uniforms side by side (the same k).  Everything is tabulated on the host: no
// transcendental, division or floating point runs here.  Means above 10 are
// split into chunks of mean 10 (table A) and a rest (table B):
//   param = {weight, n_full_chunks}
//   table = {nA, nB, G_A[256], G_B[256], T_A[nA], max, T_B[nB], max}   (int64;
//            max: INT64_MAX, above every x)
// One Philox block gives the uniforms of four neurons, keyed by
// (seed, stream, neuron / 4, step, chunk): on a rank, which holds neurons
// [first, first + n), the blocks of its neurons, the same draws.
#include "common.h"

#define SNN_GUIDE 256
// Philox blocks drawn at once: on the CPU a run of 64 (first the run's
// blocks, a loop without a branch that the compiler vectorises, then the
// inversions: about two thirds of the time of one block at a time), on the
// GPU one block per thread.  The same draws and counts either way.
#if defined(SNN_CUDA)
#define SNN_POISSON_RUN 1
#define SNN_POISSON_RUNS(run, n) SNN_LOOP(run, n)
#else
#define SNN_POISSON_RUN 64
#define SNN_POISSON_RUNS(run, n) for (int64_t run = 0; run < (int64_t)(n); ++run)
#endif

#if defined(SNN_CUDA)
// T[nT] is a sentinel above every x (the host writes it): no bound to test.
// Most buckets hold at most one threshold, so one comparison without a
// branch finds most answers; the loop runs for the few others.
SNN_DEVICE SNN_INLINE int32_t snn_inverse_cdf(uint32_t x, const int64_t *G, const int64_t *T) {
    int32_t k = (int32_t)G[x >> 24];
    k += (int64_t)x > T[k] ? 1 : 0;
    while ((int64_t)x > T[k]) ++k;
    return k;
}
#else
// On the CPU the count is taken as it is defined, the number of thresholds
// below x, for a run's uniforms side by side: a comparison per threshold
// and uniform, which the compiler vectorises (16 thresholds that matter at
// a mean of 2, 36 at 10), with no gather and no branch: the guide table's
// search took as long as the Philox draws.  The thresholds as 32-bit
// numbers: those below 0 every x exceeds (`below`), those at 2^32 - 1 or
// above none does (left out).
#define SNN_POISSON_TABLE 128  // snnlab.plan.POISSON_TABLE
struct SnnThresholds {
    uint32_t t[SNN_POISSON_TABLE];
    int32_t n, below;
};
SNN_DEVICE SNN_INLINE void snn_thresholds(const int64_t *T, int32_t nT, SnnThresholds &h) {
    h.n = h.below = 0;
    for (int32_t i = 0; i < nT; ++i) {
        if (T[i] < 0) h.below += 1;
        else if (T[i] < (int64_t)UINT32_MAX) h.t[h.n++] = (uint32_t)T[i];
    }
}

#if defined(SNN_AVX512)
// A run of NV groups of 16 blocks (64 NV neurons from neuron i0 on) in
// explicit vectors: the Philox blocks 16 at a time, each word's counts held
// in registers while the thresholds pass, then the four words' counts
// interleaved into neuron order (two unpacks and a 4 x 4 exchange of
// 128-bit lanes) and added to the ring as 64-bit numbers, for the neurons
// i0 + a .. i0 + b - 1 only (this thread's: masked loads and stores in a
// run that is not whole; over whole runs they cost 7 %).  The same draws,
// counts and sums as the loops below.  Every run of a thread's share goes
// this way, its last one with as few groups as it needs: the loops below
// take 2.6 times as long per neuron, and each thread has an end of its
// share in each population (Brunel's input, 2 threads against 1: 1.75x
// when the ends took the loops, 1.9x now).
SNN_DEVICE SNN_INLINE __mmask8 snn_lanes(int64_t g, int64_t a, int64_t b) {
    // the lanes g .. g + 7 that lie in [a, b)
    const int64_t lo = a - g < 0 ? 0 : (a - g > 8 ? 8 : a - g);
    const int64_t hi = b - g < 0 ? 0 : (b - g > 8 ? 8 : b - g);
    return (__mmask8)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}
template <int NV>
SNN_DEVICE SNN_INLINE void snn_poisson_run(uint64_t seed, uint32_t stream, uint32_t e0,
                                           int64_t step, int32_t n_full,
                                           const SnnThresholds &hA, const SnnThresholds &hB,
                                           int64_t wfix, int64_t *dst, int64_t a, int64_t b) {
    alignas(64) uint32_t x[4][64];
    __m512i k[4][4];
    for (int q = 0; q < 4; ++q)
        for (int v = 0; v < NV; ++v) k[q][v] = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    for (int32_t c = 0; c <= n_full; ++c) {
        const uint64_t counter = ((uint64_t)step << 6) | c;
        for (int v = 0; v < NV; ++v)
            snn_random4_x16(seed, stream, e0 + 16 * v, counter, &x[0][16 * v], &x[1][16 * v],
                            &x[2][16 * v], &x[3][16 * v]);
        const SnnThresholds &h = c < n_full ? hA : hB;
        for (int q = 0; q < 4; ++q) {
            __m512i xv[4], acc[4];
            for (int v = 0; v < NV; ++v) {
                xv[v] = _mm512_load_si512((const void *)&x[q][16 * v]);
                acc[v] = _mm512_add_epi32(k[q][v], _mm512_set1_epi32(h.below));
            }
            for (int32_t i = 0; i < h.n; ++i) {
                const __m512i t = _mm512_set1_epi32((int)h.t[i]);
                for (int v = 0; v < NV; ++v)
                    acc[v] = _mm512_mask_add_epi32(acc[v], _mm512_cmpgt_epu32_mask(xv[v], t),
                                                   acc[v], one);
            }
            for (int v = 0; v < NV; ++v) k[q][v] = acc[v];
        }
    }
    const __m512i w = _mm512_set1_epi64(wfix);
    const bool whole = a == 0 && b >= 64 * NV;
    for (int v = 0; v < NV; ++v) {  // blocks 16 v .. 16 v + 15: neurons 64 v .. 64 v + 63
        const __m512i a01 = _mm512_unpacklo_epi32(k[0][v], k[1][v]);
        const __m512i b01 = _mm512_unpackhi_epi32(k[0][v], k[1][v]);
        const __m512i a23 = _mm512_unpacklo_epi32(k[2][v], k[3][v]);
        const __m512i b23 = _mm512_unpackhi_epi32(k[2][v], k[3][v]);
        // r[m], 128-bit lane L: the four counts of block 4 L + m
        const __m512i r[4] = {_mm512_unpacklo_epi64(a01, a23), _mm512_unpackhi_epi64(a01, a23),
                              _mm512_unpacklo_epi64(b01, b23), _mm512_unpackhi_epi64(b01, b23)};
        // out[L], lane m = r[m]'s lane L: blocks 4 L .. 4 L + 3, neurons in order
        const __m512i s0 = _mm512_shuffle_i32x4(r[0], r[1], 0x44);  // r0 L0 L1, r1 L0 L1
        const __m512i s1 = _mm512_shuffle_i32x4(r[2], r[3], 0x44);
        const __m512i s2 = _mm512_shuffle_i32x4(r[0], r[1], 0xEE);  // r0 L2 L3, r1 L2 L3
        const __m512i s3 = _mm512_shuffle_i32x4(r[2], r[3], 0xEE);
        const __m512i out[4] = {_mm512_shuffle_i32x4(s0, s1, 0x88), _mm512_shuffle_i32x4(s0, s1, 0xDD),
                                _mm512_shuffle_i32x4(s2, s3, 0x88), _mm512_shuffle_i32x4(s2, s3, 0xDD)};
        for (int L = 0; L < 4; ++L) {
            const int64_t g = 64 * v + 16 * L;
            int64_t *d = dst + g;
            const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(out[L]));
            const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(out[L], 1));
            if (whole) {
                _mm512_storeu_si512((void *)d, _mm512_add_epi64(
                    _mm512_loadu_si512((const void *)d), _mm512_mullo_epi64(lo, w)));
                _mm512_storeu_si512((void *)(d + 8), _mm512_add_epi64(
                    _mm512_loadu_si512((const void *)(d + 8)), _mm512_mullo_epi64(hi, w)));
                continue;
            }
            const __mmask8 m0 = snn_lanes(g, a, b), m1 = snn_lanes(g + 8, a, b);
            const __m512i z = _mm512_setzero_si512();
            _mm512_mask_storeu_epi64((void *)d, m0, _mm512_add_epi64(
                _mm512_mask_loadu_epi64(z, m0, (const void *)d), _mm512_mullo_epi64(lo, w)));
            _mm512_mask_storeu_epi64((void *)(d + 8), m1, _mm512_add_epi64(
                _mm512_mask_loadu_epi64(z, m1, (const void *)(d + 8)), _mm512_mullo_epi64(hi, w)));
        }
    }
}
#endif
#endif

SNN_KERNEL void poisson_input(const int64_t n, const int64_t first, const double *param,
                              const int64_t *table,
                              const uint64_t seed, const uint32_t stream, int64_t *inbuf,
                              const int32_t port, const int32_t n_slots,
                              const int64_t *step_ptr, const int64_t *own) {
    const int64_t step = *step_ptr;
    const int64_t wfix = snn_to_fixed(param[0]);
    const int32_t n_full = (int32_t)param[1];
    const int32_t nA = (int32_t)table[0];
    const int64_t *GA = table + 2, *GB = GA + SNN_GUIDE, *TA = GB + SNN_GUIDE, *TB = TA + nA + 1;
    // each neuron is written by one thread only: no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, port, step % n_slots);
#if !defined(SNN_CUDA)
    SnnThresholds hA, hB;
    snn_thresholds(TA, nA, hA);
    snn_thresholds(TB, (int32_t)table[1], hB);
#endif
#if defined(SNN_CUDA)
    (void)own;
    const int64_t lo = 0, hi = n;  // every thread a block
#else
    // this thread's neurons, the same as in the population's other kernels
    // (snn_own; the CPU driver needs no barrier between them): the blocks
    // that cover them, one across a boundary drawn by both threads, each
    // adding its own
    const int64_t lo = snn_own(own, n, SNN_THREAD_ID, SNN_NUM_THREADS);
    const int64_t hi = snn_own(own, n, SNN_THREAD_ID + 1, SNN_NUM_THREADS);
#endif
    const int64_t b0 = (first + lo) / 4;  // the block of the first neuron
    const int64_t n_blocks = hi > lo ? (first + hi + 3) / 4 - b0 : 0;
    SNN_POISSON_RUNS(run, (n_blocks + SNN_POISSON_RUN - 1) / SNN_POISSON_RUN) {
        const int64_t r0 = run * SNN_POISSON_RUN;
        const int64_t m = n_blocks - r0 < SNN_POISSON_RUN ? n_blocks - r0 : SNN_POISSON_RUN;
#if defined(SNN_AVX512)
        {
            const int64_t i0 = 4 * (b0 + r0) - first;  // the run's first neuron
            const int64_t a = lo - i0 > 0 ? lo - i0 : 0, b = hi - i0 < 256 ? hi - i0 : 256;
            const uint32_t e0 = (uint32_t)(b0 + r0);
            switch ((m + 15) / 16) {  // groups of 16 blocks
            case 4: snn_poisson_run<4>(seed, stream, e0, step, n_full, hA, hB, wfix, dst + i0, a, b); break;
            case 3: snn_poisson_run<3>(seed, stream, e0, step, n_full, hA, hB, wfix, dst + i0, a, b); break;
            case 2: snn_poisson_run<2>(seed, stream, e0, step, n_full, hA, hB, wfix, dst + i0, a, b); break;
            default: snn_poisson_run<1>(seed, stream, e0, step, n_full, hA, hB, wfix, dst + i0, a, b);
            }
            continue;
        }
#endif
        uint32_t x[4][SNN_POISSON_RUN];
        int32_t k[4][SNN_POISSON_RUN];
        for (int32_t q = 0; q < 4; ++q)
            for (int64_t j = 0; j < m; ++j) k[q][j] = 0;
        for (int32_t c = 0; c <= n_full; ++c) {
            const uint64_t counter = ((uint64_t)step << 6) | c;
            int64_t j0 = 0;
#if !defined(SNN_CUDA)
            for (; j0 + 16 <= m; j0 += 16)
                snn_random4_x16(seed, stream, (uint32_t)(b0 + r0 + j0), counter, &x[0][j0],
                                &x[1][j0], &x[2][j0], &x[3][j0]);
#endif
            SNN_SIMD
            for (int64_t j = j0; j < m; ++j) {
                const snn_u4 r = snn_random4(seed, stream, (uint32_t)(b0 + r0 + j), counter);
                x[0][j] = r.x;
                x[1][j] = r.y;
                x[2][j] = r.z;
                x[3][j] = r.w;
            }
            const bool full = c < n_full;
#if defined(SNN_CUDA)
            const int64_t *G = full ? GA : GB, *T = full ? TA : TB;
            for (int64_t j = 0; j < m; ++j)
                for (int32_t q = 0; q < 4; ++q) k[q][j] += snn_inverse_cdf(x[q][j], G, T);
#else
            const SnnThresholds &h = full ? hA : hB;
            for (int32_t q = 0; q < 4; ++q) {
                for (int64_t j = 0; j < m; ++j) k[q][j] += h.below;
                for (int32_t i = 0; i < h.n; ++i) {
                    const uint32_t t = h.t[i];
                    SNN_SIMD
                    for (int64_t j = 0; j < m; ++j) k[q][j] += x[q][j] > t ? 1 : 0;
                }
            }
#endif
        }
        for (int64_t j = 0; j < m; ++j)
            for (int32_t q = 0; q < 4; ++q) {
                const int64_t i = 4 * (b0 + r0 + j) + q - first;  // (a block may straddle ranks, threads)
                if (i >= lo && i < hi) dst[i] += (int64_t)k[q][j] * wfix;
            }
    }
}
