// random_block: raw Philox4x32-10 blocks for given counters and key, for the
// known-answer tests and for host code that must draw the device's numbers.
#include "common.h"

SNN_KERNEL void random_block(const int64_t n, const uint32_t *ctr, const uint32_t *key,
                             uint32_t *out) {
    SNN_LOOP(i, n) {
        snn_u4 c;
        c.x = ctr[4 * i];
        c.y = ctr[4 * i + 1];
        c.z = ctr[4 * i + 2];
        c.w = ctr[4 * i + 3];
        snn_u4 r = snn_philox4x32_10(c, key[2 * i], key[2 * i + 1]);
        out[4 * i] = r.x;
        out[4 * i + 1] = r.y;
        out[4 * i + 2] = r.z;
        out[4 * i + 3] = r.w;
    }
}

// snn_log and snn_normal, exposed for their accuracy tests
SNN_KERNEL void math_check(const int64_t n, const double *x, double *log_x,
                           const uint64_t seed, double *normal) {
    SNN_LOOP(i, n) {
        log_x[i] = snn_log(x[i]);
        normal[i] = snn_normal(seed, 7u, (uint32_t)i, 0);
    }
}

// exp_x[i] = snn_exp(x[i]), pow_xy[i] = snn_pow(x[i], y)  (tests/test_philox.py)
SNN_KERNEL void exp_check(const int64_t n, const double *x, const double y, double *exp_x,
                          double *pow_xy) {
    SNN_LOOP(i, n) {
        exp_x[i] = snn_exp(x[i]);
        pow_xy[i] = snn_pow(x[i], y);
    }
}
