// common.h: helpers shared by the simulation kernels.
#pragma once
#include "portable.h"
#include "philox.h"

// Input buffers of a population: int64 fixed point, laid out
// [port][slot][neuron]; slot = step % n_slots is the delay ring.
SNN_DEVICE SNN_INLINE int64_t *snn_inbuf(int64_t *inbuf, int64_t n, int32_t n_slots,
                                         int32_t port, int64_t slot) {
    return inbuf + ((int64_t)port * n_slots + slot) * n;
}

// Spike recording: one bit per neuron and step, rows of n_words uint32.
// rec_info = {first step of row 0, number of rows}; rows outside are dropped
// (the host drains the buffer before it fills).
SNN_DEVICE SNN_INLINE void snn_record_spike(uint32_t *rec_bits, const int64_t *rec_info,
                                            int64_t step, int64_t i) {
    int64_t row = step - rec_info[0];
    if (rec_bits && row >= 0 && row < rec_info[1]) {
        int64_t n_words = rec_info[2];
        SNN_ATOMIC_OR_U32(&rec_bits[row * n_words + (i >> 5)], 1u << (i & 31));
    }
}

// Uniform number `k` (< 64) of neuron `i` in step `step` (model snippets).
SNN_DEVICE SNN_INLINE double snn_model_uniform(uint64_t seed, uint32_t stream, int64_t i,
                                               int64_t step, uint32_t k) {
    snn_u4 r = snn_random4(seed, stream, (uint32_t)i, ((uint64_t)step << 5) | (k >> 1));
    return (k & 1) ? snn_u01(r.z, r.w) : snn_u01(r.x, r.y);
}

// A value drawn from dist = {kind, a, b, low, high}, number k of (stream, j):
// 0 constant a; 1 normal(a, b) redrawn until in [low, high]; 2 normal(a, b)
// clipped to [low, high]; 3 uniform [a, b).
SNN_DEVICE SNN_INLINE double snn_draw(const double *dist, uint64_t seed, uint32_t stream,
                                      int64_t j, int64_t k) {
    const int kind = (int)dist[0];
    const double a = dist[1], b = dist[2], lo = dist[3], hi = dist[4];
    if (kind == 0) return a;
    if (kind == 3) {
        snn_u4 r = snn_random4(seed, stream, (uint32_t)j, (uint64_t)k);
        return a + (b - a) * snn_u01(r.x, r.y);
    }
    double x = a;
    for (uint64_t att = 0; att < 1000; ++att) {
        x = a + b * snn_normal(seed, stream, (uint32_t)j, (uint64_t)k | (att << 36));
        if (kind == 2 || (x >= lo && x <= hi)) break;
    }
    return x < lo ? lo : (x > hi ? hi : x);
}

// Is this a step that rewires (rewiring.cu)?  period 0: always.
SNN_DEVICE SNN_INLINE bool snn_rewire_due(const int64_t *step_ptr, int64_t period) {
    if (period == 0) return true;
    const int64_t step = *step_ptr;
    return step > 0 && step % period == 0;
}

