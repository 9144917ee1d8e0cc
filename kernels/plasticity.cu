// plasticity: trace-based STDP on a projection's ragged matrix, and the
// column view (the synapses onto each target) that postsynaptic updates use.
//
// Per step, after the neuron updates and before propagation (see
// snnlab/plasticity.py for the timing rules):
//   stdp_pre      rows of this step's presynaptic spikes: depression
//   trace_decay   x and y decay by one step
//   trace_spikes  x and y jump by 1 at this step's spikes
//   stdp_post     columns of this step's postsynaptic spikes: potentiation
// Each synapse is written by one thread: on the CPU the rows are split by
// target range (SNN_ROW_SEGMENT), the columns by target.
//
// p = {depress, facilitate, mu, decay_x, decay_y}  (PowerLawSTDP.encode)
#include "common.h"

SNN_KERNEL void stdp_pre(const int32_t *spikes, const int32_t *n_spikes,
                         const int32_t *SNN_RESTRICT row_length,
                         const int32_t *SNN_RESTRICT ind, const int64_t cap,
                         float *SNN_RESTRICT weight, const int64_t n_post,
                         const double *SNN_RESTRICT post_trace, const double *p) {
    const int32_t ns = *n_spikes;
    const double depress = p[0], decay_y = p[4];
    SNN_FOR_ROWS(s, ns) {
        const int64_t pre = spikes[s];
        const int32_t *row = ind + pre * cap;
        float *w_row = weight + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) {
            const double y = post_trace[row[j]] * decay_y;  // earlier steps only
            double w = (double)w_row[j];
            w = w - depress * w * y;
            w_row[j] = (float)(w > 0.0 ? w : 0.0);
        }
    }
    SNN_ROWS_END;
}

SNN_KERNEL void trace_decay(const int64_t n, double *trace, const double decay) {
    SNN_LOOP(i, n) trace[i] = trace[i] * decay;
}

SNN_KERNEL void trace_spikes(double *trace, const int32_t *spikes, const int32_t *n_spikes) {
    const int32_t ns = *n_spikes;
    SNN_LOOP(s, ns) trace[spikes[s]] += 1.0;
}

SNN_KERNEL void stdp_post(const int32_t *spikes, const int32_t *n_spikes,
                          const int64_t *SNN_RESTRICT col_start,
                          const int64_t *SNN_RESTRICT col_syn, const int64_t cap,
                          float *SNN_RESTRICT weight, const double *SNN_RESTRICT pre_trace,
                          const double *p) {
    const int32_t ns = *n_spikes;
    const double facilitate = p[1], mu = p[2];
    SNN_LOOP_OUTER(s, ns) {
        const int64_t post = spikes[s], begin = col_start[post];
        SNN_LOOP_INNER(k, col_start[post + 1] - begin) {
            const int64_t idx = col_syn[begin + k];
            const double x = pre_trace[idx / cap];  // this step included
            const double w = (double)weight[idx];
            weight[idx] = (float)(w + facilitate * snn_pow(w, mu) * x);
        }
    }
}

// Column view: col_count[t] += synapses onto t (zeroed by the host), then
// col_start = exclusive scan (host), then column_fill places each synapse's
// flat index pre * cap + j (cursor = a copy of col_start).  On the CPU each
// thread owns a target range, so columns come out ordered by source.
SNN_KERNEL void column_count(const int64_t n_pre, const int32_t *SNN_RESTRICT row_length,
                             const int32_t *SNN_RESTRICT ind, const int64_t cap,
                             const int64_t n_post, int64_t *col_count) {
    SNN_FOR_ROWS(pre, n_pre) {
        const int32_t *row = ind + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) SNN_ACC_ADD(col_count + row[j], 1);
    }
    SNN_ROWS_END;
}

SNN_KERNEL void column_fill(const int64_t n_pre, const int32_t *SNN_RESTRICT row_length,
                            const int32_t *SNN_RESTRICT ind, const int64_t cap,
                            const int64_t n_post, int64_t *cursor, int64_t *col_syn) {
    SNN_FOR_ROWS(pre, n_pre) {
        const int32_t *row = ind + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) {
            col_syn[SNN_ACC_FETCH_ADD(cursor + row[j], 1)] = pre * cap + j;
        }
    }
    SNN_ROWS_END;
}
