// propagate: deliver this step's spikes of one projection through the ragged
// matrix (rows = presynaptic neurons) into the delay ring of the targets.
//
// Weights are either one constant for the projection or a float per synapse;
// delays likewise (steps).  The add is 64-bit fixed point: atomic on the GPU
// (one block per spike, its threads across the row); on the CPU each thread
// owns a range of targets (SNN_ROW_SEGMENT in portable.h) and adds plainly.
#include "common.h"

template <bool IW, bool ID>
SNN_DEVICE void propagate_impl(const int32_t *SNN_RESTRICT spikes, const int32_t *n_spikes,
                               const int32_t *SNN_RESTRICT row_length,
                               const int32_t *SNN_RESTRICT ind, const int64_t cap,
                               const float *SNN_RESTRICT weight, const double *w_const,
                               const uint16_t *SNN_RESTRICT delay, const int32_t d_const,
                               int64_t *SNN_RESTRICT inbuf, const int64_t n_post,
                               const int32_t port, const int32_t n_slots,
                               const int64_t *step_ptr) {
    const int64_t step = *step_ptr;
    const int32_t ns = *n_spikes;
    const int64_t wfix = snn_to_fixed(*w_const);
    int64_t *base = snn_inbuf(inbuf, n_post, n_slots, port, 0);
    const int64_t now = step % n_slots;  // delays are < n_slots: no modulo per synapse
    int64_t *fixed_slot = base + ((now + d_const) % n_slots) * n_post;
    SNN_FOR_ROWS(s, ns) {
        const int64_t pre = spikes[s];
        const int64_t len = row_length[pre];
        const int32_t *row = ind + pre * cap;
        if (s + 1 < ns) {
            const int64_t next = spikes[s + 1];
            snn_prefetch_row(ind + next * cap, row_length[next]);
            if (IW) snn_prefetch_row(weight + next * cap, row_length[next]);
            if (ID) snn_prefetch_row(delay + next * cap, row_length[next]);
        }
        SNN_ROW_SEGMENT(j, row, len, n_post) {
            const int64_t w = IW ? snn_to_fixed((double)weight[pre * cap + j]) : wfix;
            int64_t *dst = fixed_slot;
            if (ID) {  // (delay is null otherwise: read it only here)
                int64_t slot = now + delay[pre * cap + j];
                dst = base + (slot >= n_slots ? slot - n_slots : slot) * n_post;
            }
            SNN_ACC_ADD(dst + row[j], w);
        }
    }
    SNN_ROWS_END;
}

SNN_KERNEL void propagate(const int32_t *spikes, const int32_t *n_spikes,
                          const int32_t *row_length, const int32_t *ind, const int64_t cap,
                          const float *weight, const double *w_const, const uint16_t *delay,
                          const int32_t d_const, int64_t *inbuf, const int64_t n_post,
                          const int32_t port, const int32_t n_slots, const int64_t *step_ptr) {
    // a null per-synapse array means the projection's constant is used
    if (weight && delay)
        propagate_impl<true, true>(spikes, n_spikes, row_length, ind, cap, weight, w_const,
                                   delay, d_const, inbuf, n_post, port, n_slots,
                                   step_ptr);
    else if (weight)
        propagate_impl<true, false>(spikes, n_spikes, row_length, ind, cap, weight, w_const,
                                    delay, d_const, inbuf, n_post, port, n_slots,
                                    step_ptr);
    else if (delay)
        propagate_impl<false, true>(spikes, n_spikes, row_length, ind, cap, weight, w_const,
                                    delay, d_const, inbuf, n_post, port, n_slots,
                                    step_ptr);
    else
        propagate_impl<false, false>(spikes, n_spikes, row_length, ind, cap, weight, w_const,
                                     delay, d_const, inbuf, n_post, port, n_slots,
                                     step_ptr);
}
