// poisson_input: an independent Poisson spike train into every neuron of a
// population, added to the input of the current step (no synapses stored).
//
// param = {lam_chunk, exp(-lam_chunk), n_full_chunks, lam_rest, exp(-lam_rest),
//          weight}, computed on the host (so no transcendental runs here);
// the count of one step is the sum of Poisson(lam_chunk) draws, each by
// inversion from one uniform keyed by (seed, stream, neuron, step, chunk).
#include "common.h"

SNN_KERNEL void poisson_input(const int64_t n, const double *param, const uint64_t seed,
                              const uint32_t stream, int64_t *inbuf, const int32_t port,
                              const int32_t n_slots, const int32_t n_copies,
                              const int64_t *step_ptr) {
    const int64_t step = *step_ptr;
    const double lam = param[0], e_lam = param[1], lam_r = param[3], e_lam_r = param[4];
    const int32_t n_full = (int32_t)param[2];
    const int64_t wfix = snn_to_fixed(param[5]);
    // each neuron is written by one thread only: copy 0, no atomics
    int64_t *dst = snn_inbuf(inbuf, n, n_slots, n_copies, port, step % n_slots, 0);
    SNN_LOOP(i, n) {
        int32_t k = 0;
        for (int32_t c = 0; c <= n_full; c += 2) {
            snn_u4 r = snn_random4(seed, stream, (uint32_t)i, ((uint64_t)step << 6) | (c >> 1));
            k += c < n_full ? snn_poisson_small(snn_u01(r.x, r.y), lam, e_lam)
                            : snn_poisson_small(snn_u01(r.x, r.y), lam_r, e_lam_r);
            if (c + 1 <= n_full)
                k += c + 1 < n_full ? snn_poisson_small(snn_u01(r.z, r.w), lam, e_lam)
                                    : snn_poisson_small(snn_u01(r.z, r.w), lam_r, e_lam_r);
        }
        dst[i] += (int64_t)k * wfix;
    }
}
