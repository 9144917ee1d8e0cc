// spike_source_array: emit the spikes given for this step.  The events are
// sorted by step; cursor[0] remembers where the last step stopped.
#include "common.h"

SNN_KERNEL void spike_source_array(const int64_t *ev_step, const int32_t *ev_id,
                                   const int64_t n_events, int64_t *cursor,
                                   const int64_t *step_ptr, int32_t *spikes, int32_t *n_spikes,
                                   uint32_t *rec_bits, const int64_t *rec_info) {
    const int64_t step = *step_ptr;
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
}
