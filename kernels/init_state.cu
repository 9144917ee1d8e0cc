// init_state: draw a state variable of a population from a distribution,
// keyed by (seed, stream, neuron): the same initial state on every target and
// rank (a rank holds neurons [first, first + n)).
#include "common.h"

SNN_KERNEL void init_state(const int64_t n, const int64_t first, const double *dist,
                           const uint64_t seed, const uint32_t stream, scalar *out) {
    SNN_LOOP(i, n) { out[i] = (scalar)snn_draw(dist, seed, stream, first + i, 0); }
}

// copy_state: a state variable's initial values given one per neuron
// (snnlab.Values: a parameter that differs between neurons, NeuronModel.per_neuron).
SNN_KERNEL void copy_state(const int64_t n, const double *values, scalar *out) {
    SNN_LOOP(i, n) { out[i] = (scalar)values[i]; }
}

// zero_bytes: clear an array of any type (a reset of the state between trials).
SNN_KERNEL void zero_bytes(const int64_t n_bytes, uint8_t *p) {
    SNN_LOOP(i, n_bytes) { p[i] = 0; }
}

// a[i] = value for i < n
SNN_KERNEL void fill_int64(const int64_t n, int64_t *a, const int64_t value) {
    SNN_LOOP(i, n) a[i] = value;
}
