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
//   table = {nA, nB, G_A[256], G_B[256], T_A[nA], T_B[nB]}   (int64)
// One Philox block gives the uniforms of four neurons, keyed by
// (seed, stream, neuron / 4, step, chunk): on a rank, which holds neurons
// [first, first + n), the blocks of its neurons, the same draws.
#include "common.h"

#define SNN_GUIDE 256

SNN_DEVICE SNN_INLINE int32_t snn_inverse_cdf(uint32_t x, const int64_t *G, const int64_t *T,
                                              int32_t nT) {
    int32_t k = (int32_t)G[x >> 24];
    while (k < nT && (int64_t)x > T[k]) ++k;
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
    const int32_t nA = (int32_t)table[0], nB = (int32_t)table[1];
    const int64_t *GA = table + 2, *GB = GA + SNN_GUIDE, *TA = GB + SNN_GUIDE, *TB = TA + nA;
    // each neuron is written by one thread only: no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, port, step % n_slots);
    const int64_t b0 = first / 4;  // the block of the first neuron
    SNN_LOOP(bb, (first + n + 3) / 4 - b0) {
        const int64_t b = b0 + bb;
        int32_t k[4] = {0, 0, 0, 0};
        for (int32_t c = 0; c <= n_full; ++c) {
            snn_u4 r = snn_random4(seed, stream, (uint32_t)b, ((uint64_t)step << 6) | c);
            const bool full = c < n_full;
            const int64_t *G = full ? GA : GB, *T = full ? TA : TB;
            const int32_t nT = full ? nA : nB;
            k[0] += snn_inverse_cdf(r.x, G, T, nT);
            k[1] += snn_inverse_cdf(r.y, G, T, nT);
            k[2] += snn_inverse_cdf(r.z, G, T, nT);
            k[3] += snn_inverse_cdf(r.w, G, T, nT);
        }
        for (int32_t q = 0; q < 4; ++q) {
            const int64_t i = 4 * b + q - first;  // (a block may straddle two ranks)
            if (i >= 0 && i < n) dst[i] += (int64_t)k[q] * wfix;
        }
    }
}
