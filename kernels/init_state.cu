// init_state: draw a state variable of a population from a distribution,
// keyed by (seed, stream, neuron): the same initial state on every target and
// rank (a rank holds neurons [first, first + n)).
#include "common.h"

SNN_KERNEL void init_state(const int64_t n, const int64_t first, const double *dist,
                           const uint64_t seed, const uint32_t stream, scalar *out) {
    SNN_LOOP(i, n) { out[i] = (scalar)snn_draw(dist, seed, stream, first + i, 0); }
}

// zero_bytes: clear an array of any type (a reset of the state between trials).
SNN_KERNEL void zero_bytes(const int64_t n_bytes, uint8_t *p) {
    SNN_LOOP(i, n_bytes) { p[i] = 0; }
}

// a[i] = value for i < n
SNN_KERNEL void fill_int64(const int64_t n, int64_t *a, const int64_t value) {
    SNN_LOOP(i, n) a[i] = value;
}
