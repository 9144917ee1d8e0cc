// record_state: copy chosen state variables of chosen neurons into a host-
// drained buffer at the end of every `every`-th step (sample q is taken after
// step (q + 1) every - 1).  info = {sample in the buffer's first row, rows,
// every, n_pop}.  On the CPU each thread samples the neurons it updates (its
// share of the population, snn_share), so that no thread reads a neuron
// another may be updating: under the split schedule the neurons run steps
// ahead with no barrier between them (snnlab/backend/codegen.py).
#include "common.h"

SNN_KERNEL void record_state(const scalar *state, const int32_t *var_idx,
                             const int32_t *neuron_idx, const int64_t n_rec, scalar *buf,
                             const int64_t *info, const int64_t *step_ptr) {
    const int64_t step = *step_ptr, every = info[2];
    if ((step + 1) % every != 0) return;
    const int64_t row = (step + 1) / every - 1 - info[0], n = info[3];
    if (row < 0 || row >= info[1]) return;
#ifdef SNN_CUDA
    SNN_LOOP(k, n_rec) {
        buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + neuron_idx[k]];
    }
#else
    const int64_t t = SNN_THREAD_ID, team = SNN_NUM_THREADS;
    const int64_t lo = snn_share(n, t, team), hi = snn_share(n, t + 1, team);
    for (int64_t k = 0; k < n_rec; ++k) {
        const int64_t i = neuron_idx[k];
        if (i >= lo && i < hi) buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + i];
    }
#endif
}
