// record_state: copy chosen state variables of chosen neurons into a host-
// drained buffer at the end of every `every`-th step (sample q is taken after
// step (q + 1) every - 1).  info = {sample in the buffer's first row, rows,
// every, n_pop}.
#include "common.h"

SNN_KERNEL void record_state(const scalar *state, const int32_t *var_idx,
                             const int32_t *neuron_idx, const int64_t n_rec, scalar *buf,
                             const int64_t *info, const int64_t *step_ptr) {
    const int64_t step = *step_ptr, every = info[2];
    if ((step + 1) % every != 0) return;
    const int64_t row = (step + 1) / every - 1 - info[0], n = info[3];
    if (row < 0 || row >= info[1]) return;
    SNN_LOOP(k, n_rec) {
        buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + neuron_idx[k]];
    }
}
