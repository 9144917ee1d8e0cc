// record_state: copy chosen state variables of chosen neurons into a host-
// drained buffer at the end of every `every`-th step (sample q is taken after
// step (q + 1) every - 1).  info = {sample in the buffer's first row, rows,
// every, n_pop}.  On the CPU each thread samples the neurons it updates (its
// part of the population, snn_own), so that no thread reads a neuron
// another may be updating: under the split schedule the neurons run steps
// ahead with no barrier between them (snnlab/backend/codegen.py).  `order`
// lists the entries by neuron (the host's stable argsort), so a thread finds
// its own as one run of it, by two binary searches.
#include "common.h"

// The first place j of `order` whose entry's neuron is >= i.
SNN_DEVICE int64_t snn_first_neuron(const int32_t *neuron_idx, const int64_t *order,
                                    const int64_t n_rec, const int64_t i) {
    int64_t a = 0, b = n_rec;
    while (a < b) {
        const int64_t m = (a + b) / 2;
        if (neuron_idx[order[m]] < i) a = m + 1;
        else b = m;
    }
    return a;
}

SNN_KERNEL void record_state(const scalar *state, const int32_t *var_idx,
                             const int32_t *neuron_idx, const int64_t *order,
                             const int64_t n_rec, scalar *buf, const int64_t *info,
                             const int64_t *step_ptr, const int64_t *own) {
    const int64_t step = *step_ptr, every = info[2];
    if ((step + 1) % every != 0) return;
    const int64_t row = (step + 1) / every - 1 - info[0], n = info[3];
    if (row < 0 || row >= info[1]) return;
#ifdef SNN_CUDA
    (void)order;
    (void)own;
    SNN_LOOP(k, n_rec) {
        buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + neuron_idx[k]];
    }
#else
    const int64_t t = SNN_THREAD_ID, team = SNN_NUM_THREADS;
    const int64_t j0 = snn_first_neuron(neuron_idx, order, n_rec, snn_own(own, n, t, team));
    const int64_t j1 = snn_first_neuron(neuron_idx, order, n_rec, snn_own(own, n, t + 1, team));
    for (int64_t j = j0; j < j1; ++j) {
        const int64_t k = order[j];
        buf[row * n_rec + k] = state[(int64_t)var_idx[k] * n + neuron_idx[k]];
    }
#endif
}
