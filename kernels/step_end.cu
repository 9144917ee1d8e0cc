// step_end: close a step: advance the step counter and clear the spike lists.
// Keeping the counter on the device lets a captured step schedule replay.
#include "common.h"

SNN_KERNEL void step_end(int64_t *step_ptr, int32_t *n_spikes, const int32_t n_pops) {
    SNN_SERIAL {
        *step_ptr += 1;
        for (int32_t p = 0; p < n_pops; ++p) n_spikes[p] = 0;
    }
}
