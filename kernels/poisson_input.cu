// poisson_input: an independent Poisson spike train into every neuron of a
// population, added to the input of the current step (no synapses stored).
//
// The count of one step is drawn by inversion of the cumulative
// distribution, tabulated on the host (no transcendental or division runs
// here).  Means above 10 are split into chunks of mean 10 (table A) and a
// rest (table B):
//   param = {weight, n_full_chunks, nA, nB, F_A[nA], F_B[nB]}.
// One Philox block gives the 32-bit uniforms of four neurons, keyed by
// (seed, stream, neuron / 4, step, chunk).
#include "common.h"

SNN_DEVICE SNN_INLINE int32_t snn_inverse_cdf(uint32_t x, const double *F, int32_t nF) {
    const double u = ((double)x + 0.5) * (1.0 / 4294967296.0);
    int32_t k = 0;
    while (k < nF && u > F[k]) ++k;
    return k;
}

SNN_KERNEL void poisson_input(const int64_t n, const double *param, const uint64_t seed,
                              const uint32_t stream, int64_t *inbuf, const int32_t port,
                              const int32_t n_slots, const int32_t n_copies,
                              const int64_t *step_ptr) {
    const int64_t step = *step_ptr;
    const int64_t wfix = snn_to_fixed(param[0]);
    const int32_t n_full = (int32_t)param[1], nA = (int32_t)param[2], nB = (int32_t)param[3];
    const double *FA = param + 4, *FB = param + 4 + nA;
    // each neuron is written by one thread only: copy 0, no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, n_copies, port, step % n_slots, 0);
    SNN_LOOP(b, (n + 3) / 4) {
        int32_t k[4] = {0, 0, 0, 0};
        for (int32_t c = 0; c <= n_full; ++c) {
            snn_u4 r = snn_random4(seed, stream, (uint32_t)b, ((uint64_t)step << 6) | c);
            const double *F = c < n_full ? FA : FB;
            const int32_t nF = c < n_full ? nA : nB;
            k[0] += snn_inverse_cdf(r.x, F, nF);
            k[1] += snn_inverse_cdf(r.y, F, nF);
            k[2] += snn_inverse_cdf(r.z, F, nF);
            k[3] += snn_inverse_cdf(r.w, F, nF);
        }
        for (int32_t q = 0; q < 4 && 4 * b + q < n; ++q) dst[4 * b + q] += (int64_t)k[q] * wfix;
    }
}
