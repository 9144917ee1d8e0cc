// poisson_input: an independent Poisson spike train into every neuron of a
// population, added to the input of the current step (no synapses stored).
//
// The count of one step is drawn by inversion of the cumulative distribution
// F, tabulated on the host with a guide table (Chen & Asau 1974): G[b] is the
// smallest k with F[k] >= b / 256, so the search starts next to its answer
// and no transcendental, division or long branchy loop runs here.  Means
// above 10 are split into chunks of mean 10 (table A) and a rest (table B):
//   param = {weight, n_full_chunks, nA, nB, G_A[256], G_B[256], F_A[nA], F_B[nB]}.
// One Philox block gives the 32-bit uniforms of four neurons, keyed by
// (seed, stream, neuron / 4, step, chunk).
#include "common.h"

#define SNN_GUIDE 256

SNN_DEVICE SNN_INLINE int32_t snn_inverse_cdf(uint32_t x, const double *G, const double *F,
                                              int32_t nF) {
    const double u = ((double)x + 0.5) * (1.0 / 4294967296.0);
    int32_t k = (int32_t)G[x >> 24];
    while (k < nF && u > F[k]) ++k;
    return k;
}

SNN_KERNEL void poisson_input(const int64_t n, const double *param, const uint64_t seed,
                              const uint32_t stream, int64_t *inbuf, const int32_t port,
                              const int32_t n_slots,
                              const int64_t *step_ptr) {
    const int64_t step = *step_ptr;
    const int64_t wfix = snn_to_fixed(param[0]);
    const int32_t n_full = (int32_t)param[1], nA = (int32_t)param[2], nB = (int32_t)param[3];
    const double *GA = param + 4, *GB = GA + SNN_GUIDE;
    const double *FA = GB + SNN_GUIDE, *FB = FA + nA;
    // each neuron is written by one thread only: no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, port, step % n_slots);
    SNN_LOOP(b, (n + 3) / 4) {
        int32_t k[4] = {0, 0, 0, 0};
        for (int32_t c = 0; c <= n_full; ++c) {
            snn_u4 r = snn_random4(seed, stream, (uint32_t)b, ((uint64_t)step << 6) | c);
            const bool full = c < n_full;
            const double *G = full ? GA : GB, *F = full ? FA : FB;
            const int32_t nF = full ? nA : nB;
            k[0] += snn_inverse_cdf(r.x, G, F, nF);
            k[1] += snn_inverse_cdf(r.y, G, F, nF);
            k[2] += snn_inverse_cdf(r.z, G, F, nF);
            k[3] += snn_inverse_cdf(r.w, G, F, nF);
        }
        for (int32_t q = 0; q < 4 && 4 * b + q < n; ++q) dst[4 * b + q] += (int64_t)k[q] * wfix;
    }
}
