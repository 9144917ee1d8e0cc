// poisson_input: an independent Poisson spike train into every neuron of a
// population, added to the input of the current step (no synapses stored).
//
// The count of one step is drawn by inversion of the cumulative distribution
// F from a 32-bit uniform x: k is the number of thresholds T[k] below x,
// T[k] = floor(F[k] 2^32 - 1/2), with a guide table (Chen & Asau 1974) G[b],
// the first k whose threshold the bucket b = x >> 24 can exceed, so the
// search starts next to its answer.  Everything is tabulated on the host: no
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
#else
#define SNN_POISSON_RUN 64
#endif

// T[nT] is a sentinel above every x (the host writes it): no bound to test.
// Most buckets hold at most one threshold, so one comparison without a
// branch finds most answers; the loop runs for the few others.
SNN_DEVICE SNN_INLINE int32_t snn_inverse_cdf(uint32_t x, const int64_t *G, const int64_t *T) {
    int32_t k = (int32_t)G[x >> 24];
    k += (int64_t)x > T[k] ? 1 : 0;
    while ((int64_t)x > T[k]) ++k;
    return k;
}

SNN_KERNEL void poisson_input(const int64_t n, const int64_t first, const double *param,
                              const int64_t *table,
                              const uint64_t seed, const uint32_t stream, int64_t *inbuf,
                              const int32_t port, const int32_t n_slots,
                              const int64_t *step_ptr) {
    const int64_t step = *step_ptr;
    const int64_t wfix = snn_to_fixed(param[0]);
    const int32_t n_full = (int32_t)param[1];
    const int32_t nA = (int32_t)table[0];
    const int64_t *GA = table + 2, *GB = GA + SNN_GUIDE, *TA = GB + SNN_GUIDE, *TB = TA + nA + 1;
    // each neuron is written by one thread only: no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, port, step % n_slots);
    const int64_t b0 = first / 4;  // the block of the first neuron
    const int64_t n_blocks = (first + n + 3) / 4 - b0;
    SNN_LOOP(run, (n_blocks + SNN_POISSON_RUN - 1) / SNN_POISSON_RUN) {
        const int64_t r0 = run * SNN_POISSON_RUN;
        const int64_t m = n_blocks - r0 < SNN_POISSON_RUN ? n_blocks - r0 : SNN_POISSON_RUN;
        uint32_t x[4][SNN_POISSON_RUN];
        int32_t k[SNN_POISSON_RUN][4];
        for (int64_t j = 0; j < m; ++j) k[j][0] = k[j][1] = k[j][2] = k[j][3] = 0;
        for (int32_t c = 0; c <= n_full; ++c) {
            SNN_SIMD
            for (int64_t j = 0; j < m; ++j) {
                const snn_u4 r = snn_random4(seed, stream, (uint32_t)(b0 + r0 + j),
                                             ((uint64_t)step << 6) | c);
                x[0][j] = r.x;
                x[1][j] = r.y;
                x[2][j] = r.z;
                x[3][j] = r.w;
            }
            const bool full = c < n_full;
            const int64_t *G = full ? GA : GB, *T = full ? TA : TB;
            for (int64_t j = 0; j < m; ++j)
                for (int32_t q = 0; q < 4; ++q) k[j][q] += snn_inverse_cdf(x[q][j], G, T);
        }
        for (int64_t j = 0; j < m; ++j)
            for (int32_t q = 0; q < 4; ++q) {
                const int64_t i = 4 * (b0 + r0 + j) + q - first;  // (a block may straddle ranks)
                if (i >= 0 && i < n) dst[i] += (int64_t)k[j][q] * wfix;
            }
    }
}
