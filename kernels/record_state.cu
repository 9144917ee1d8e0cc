// record_state: copy chosen state variables of chosen neurons into a host-
// drained buffer at every step that is a multiple of `every`.
// info = {row of the buffer's first row (step / every), rows, every, n_pop}.
#include "common.h"

SNN_KERNEL void record_state(const scalar *state, const int32_t *var_idx,
                             const int32_t *neuron_idx, const int64_t n_rec, scalar *buf,
                             const int64_t *info, const int64_t *step_ptr) {
    const int64_t step = *step_ptr, every = info[2];
    if (step % every != 0) return;
    const int64_t row = step / every - info[0], n = info[3];
    if (row < 0 || row >= info[1]) return;
    SNN_LOOP(k, n_rec) {
        buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + neuron_idx[k]];
    }
}
