// step_end: close a step: advance the step counter and clear the spike lists.
// Keeping the counter on the device lets a captured step schedule replay.
//
// The split schedule (ranks; snnlab/step/schedule.py) runs the neurons a
// block of steps ahead of the synaptic work: spike_stash keeps each step's
// spike list in the population's history, and spike_replay hands the
// synaptic kernels the list of the step they replay, by their own counter.
#include "common.h"

SNN_KERNEL void step_end(int64_t *step_ptr, int32_t *n_spikes, const int32_t n_pops) {
    SNN_SERIAL {
        *step_ptr += 1;
        for (int32_t p = 0; p < n_pops; ++p) n_spikes[p] = 0;
    }
}

// This step's spikes of one population into slot step % n_hist of its
// history ([n_hist][n] ids, n_hist counts).
SNN_KERNEL void spike_stash(const int32_t *SNN_RESTRICT spikes, const int32_t *n_spikes,
                            int32_t *SNN_RESTRICT history, int32_t *SNN_RESTRICT hist_n,
                            const int64_t n, const int64_t n_hist, const int64_t *step_ptr) {
    const int64_t slot = *step_ptr % n_hist;
    const int32_t ns = *n_spikes;
    SNN_LOOP(k, ns) history[slot * n + k] = spikes[k];
    SNN_LOOP(k, 1) hist_n[slot] = ns;  // (one thread, no barrier)
}

// The spikes of the step the synaptic counter is at, from the history, into
// the list the synaptic kernels read.
SNN_KERNEL void spike_replay(const int32_t *SNN_RESTRICT history,
                             const int32_t *SNN_RESTRICT hist_n, const int64_t n,
                             const int64_t n_hist, int32_t *SNN_RESTRICT spikes,
                             int32_t *n_spikes, const int64_t *step_ptr) {
    const int64_t slot = *step_ptr % n_hist;
    const int32_t ns = hist_n[slot];
    SNN_LOOP(k, ns) spikes[k] = history[slot * n + k];
    SNN_LOOP(k, 1) *n_spikes = ns;
}

// The split schedule run in blocks on the CPU (snnlab/backend/codegen.py):
// the neurons append each step's spikes straight to its row of the history
// ([n_hist] counts, row = step % n_hist), whose counts for the `rows` steps
// from the step pointer's are cleared before a block's neurons run (in one
// driver call, kernels/cpu_host.h: the next block's, from the driver's
// counter snn_d.clear).
SNN_KERNEL void spike_counts_clear(int32_t *hist_n, const int64_t n_hist, const int64_t rows,
                                   const int64_t *step_ptr) {
    const int64_t first = *step_ptr;
    SNN_LOOP(k, rows) hist_n[(first + k) % n_hist] = 0;
}
