// spike_source_array: emit the spikes given for this step.  The events are
// sorted by step; cursor[0] is where the events after this step begin (the
// host's and a checkpoint's record of how far a run got).  On the CPU each
// thread emits the events of the neurons it owns (its part of the
// population, snn_own) and finds the step's events by binary search, so it
// needs no other thread's progress: under the split schedule the neurons run
// steps ahead with no barrier between them (snnlab/backend/codegen.py).
#include "common.h"

SNN_KERNEL void spike_source_array(const int64_t *ev_step, const int32_t *ev_id,
                                   const int64_t n_events, int64_t *cursor,
                                   const int64_t *step_ptr, int32_t *spikes, int32_t *n_spikes,
                                   uint32_t *rec_bits, const int64_t *rec_info, const int64_t n,
                                   const int64_t *own) {
    const int64_t step = *step_ptr;
#ifdef SNN_CUDA
    (void)n;
    (void)own;
    SNN_SERIAL {
        int64_t c = cursor[0];
        while (c < n_events && ev_step[c] < step) ++c;
        int32_t k = *n_spikes;
        for (; c < n_events && ev_step[c] == step; ++c) {
            spikes[k++] = ev_id[c];
            snn_record_spike(rec_bits, rec_info, step, ev_id[c]);
        }
        *n_spikes = k;
        cursor[0] = c;
    }
#else
    const int64_t t = SNN_THREAD_ID, team = SNN_NUM_THREADS;
    const int64_t lo = snn_own(own, n, t, team), hi = snn_own(own, n, t + 1, team);
    const int64_t a = snn_lower_bound(ev_step, n_events, step);
    const int64_t b = a + snn_lower_bound(ev_step + a, n_events - a, step + 1);
    int32_t mine = 0;
    for (int64_t c = a; c < b; ++c) mine += ev_id[c] >= lo && ev_id[c] < hi;
    if (mine) {
        int32_t k = SNN_ATOMIC_ADD_I32(n_spikes, mine);
        for (int64_t c = a; c < b; ++c) {
            if (ev_id[c] < lo || ev_id[c] >= hi) continue;
            spikes[k++] = ev_id[c];
            snn_record_spike(rec_bits, rec_info, step, ev_id[c]);
        }
    }
    if (t == 0) cursor[0] = b;
#endif
}
