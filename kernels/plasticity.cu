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
// target range (SNN_ROW_SEGMENT), the columns by target.  The two trace
// kernels take both traces of a projection in one launch (two independent
// loops); the kernel boundary orders the decay before the jumps.
//
// p = {depress, facilitate, mu, decay_x, decay_y, kind, w_min, w_max, nearest}
// (snnlab/plasticity.py, STDP.encode); kind: 0 power law, 1 additive,
// 2 multiplicative.  Weights stay in [w_min, w_max].
#include "common.h"

enum { SNN_STDP_POWER_LAW = 0, SNN_STDP_ADDITIVE = 1, SNN_STDP_MULTIPLICATIVE = 2 };

SNN_DEVICE SNN_INLINE double snn_clamp(double w, double lo, double hi) {
    return w < lo ? lo : (w > hi ? hi : w);
}

// depression at a presynaptic spike, y = the postsynaptic trace
SNN_DEVICE SNN_INLINE double snn_stdp_depress(double w, double y, const double *p) {
    const int kind = (int)p[5];
    const double d = kind == SNN_STDP_POWER_LAW ? p[0] * w * y
                     : kind == SNN_STDP_ADDITIVE ? p[0] * y
                                                 : p[0] * (w - p[6]) * y;
    return snn_clamp(w - d, p[6], p[7]);
}

// potentiation at a postsynaptic spike, x = the presynaptic trace
SNN_DEVICE SNN_INLINE double snn_stdp_facilitate(double w, double x, const double *p) {
    const int kind = (int)p[5];
    const double f = kind == SNN_STDP_POWER_LAW ? p[1] * snn_pow(w, p[2]) * x
                     : kind == SNN_STDP_ADDITIVE ? p[1] * x
                                                 : p[1] * (p[7] - w) * x;
    return snn_clamp(w + f, p[6], p[7]);
}

SNN_KERNEL void stdp_pre(const int32_t *spikes, const int32_t *n_spikes,
                         const int32_t *SNN_RESTRICT row_length,
                         const int32_t *SNN_RESTRICT ind, const int64_t cap,
                         float *SNN_RESTRICT weight, const int64_t n_post,
                         const double *SNN_RESTRICT post_trace, const double *p) {
    const int32_t ns = *n_spikes;
    const double decay_y = p[4];
    SNN_FOR_ROWS(s, ns) {
        const int64_t pre = spikes[s];
        const int32_t *row = ind + pre * cap;
        float *w_row = weight + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) {
            const double y = post_trace[row[j]] * decay_y;  // earlier steps only
            w_row[j] = (float)snn_stdp_depress((double)w_row[j], y, p);
        }
    }
    SNN_ROWS_END;
}

SNN_KERNEL void trace_decay(const int64_t n_x, double *x, const double decay_x,
                            const int64_t n_y, double *y, const double decay_y) {
    SNN_LOOP(i, n_x) x[i] = x[i] * decay_x;
    SNN_LOOP(i, n_y) y[i] = y[i] * decay_y;
}

// all-to-all pairing: a spike adds 1; nearest-neighbour: it sets the trace to 1
SNN_DEVICE SNN_INLINE double snn_trace_jump(double t, int32_t nearest) {
    return nearest ? 1.0 : t + 1.0;
}

SNN_KERNEL void trace_spikes(double *x, const int32_t *pre_spikes, const int32_t *n_pre_spikes,
                             double *y, const int32_t *post_spikes,
                             const int32_t *n_post_spikes, const int32_t nearest) {
    const int32_t ns_pre = *n_pre_spikes, ns_post = *n_post_spikes;
    SNN_LOOP(s, ns_pre) x[pre_spikes[s]] = snn_trace_jump(x[pre_spikes[s]], nearest);
    SNN_LOOP(s, ns_post) y[post_spikes[s]] = snn_trace_jump(y[post_spikes[s]], nearest);
}

SNN_KERNEL void stdp_post(const int32_t *spikes, const int32_t *n_spikes,
                          const int64_t *SNN_RESTRICT col_start,
                          const int64_t *SNN_RESTRICT col_syn, const int64_t cap,
                          float *SNN_RESTRICT weight, const double *SNN_RESTRICT pre_trace,
                          const double *p) {
    const int32_t ns = *n_spikes;
    SNN_LOOP_OUTER(s, ns) {
        const int64_t post = spikes[s], begin = col_start[post];
        SNN_LOOP_INNER(k, col_start[post + 1] - begin) {
            const int64_t idx = col_syn[begin + k];
            const double x = pre_trace[idx / cap];  // this step included
            weight[idx] = (float)snn_stdp_facilitate((double)weight[idx], x, p);
        }
    }
}

// Column view: col_count[t] += synapses onto t (zeroed first), then
// col_start = exclusive scan, then column_fill places each synapse's flat
// index pre * cap + j (cursor = a copy of col_start).  On the CPU each thread
// owns a target range, so columns come out ordered by source.  Built by the
// host, or in the step after rewiring (rewiring.cu: step_ptr and period gate
// them; period 0 runs them always).
SNN_KERNEL void column_count(const int64_t n_pre, const int32_t *SNN_RESTRICT row_length,
                             const int32_t *SNN_RESTRICT ind, const int64_t cap,
                             const int64_t n_post, int64_t *col_count,
                             const int64_t *step_ptr, const int64_t period,
                             const int64_t *counts, const int64_t *info) {
    if (!snn_columns_due(step_ptr, period, counts, info)) return;
    SNN_FOR_ROWS(pre, n_pre) {
        const int32_t *row = ind + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) SNN_ACC_ADD(col_count + row[j], 1);
    }
    SNN_ROWS_END;
}

SNN_KERNEL void column_fill(const int64_t n_pre, const int32_t *SNN_RESTRICT row_length,
                            const int32_t *SNN_RESTRICT ind, const int64_t cap,
                            const int64_t n_post, int64_t *cursor, int64_t *col_syn,
                            const int64_t *step_ptr, const int64_t period,
                            const int64_t *counts, const int64_t *info) {
    if (!snn_columns_due(step_ptr, period, counts, info)) return;
    SNN_FOR_ROWS(pre, n_pre) {
        const int32_t *row = ind + pre * cap;
        SNN_ROW_SEGMENT(j, row, row_length[pre], n_post) {
            col_syn[SNN_ACC_FETCH_ADD(cursor + row[j], 1)] = pre * cap + j;
        }
    }
    SNN_ROWS_END;
}
