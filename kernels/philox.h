// philox.h: counter-based random numbers, identical on every target.
//
// Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as
// 1, 2, 3", SC'11), checked against the Random123 known-answer vectors in
// tests/test_philox.py.  Every random number in snnlab is a pure function of
// (seed, stream, entity, counter): the 64-bit seed is the key; the counter
// block is (counter low, counter high, entity, stream).  No generator state
// exists anywhere, so a checkpoint needs none and any partition of the
// entities over threads, GPUs or MPI ranks draws the same numbers.
//
// Only IEEE-exact operations are used after the integer stage (+ - * / sqrt,
// conversions), plus snn_log below, written from those operations, so the
// CPU and the GPU produce bitwise identical variates.
#pragma once
#include "portable.h"
#include "ziggurat.h"

struct snn_u4 { uint32_t x, y, z, w; };

SNN_DEVICE SNN_INLINE uint32_t snn_mulhilo(uint32_t a, uint32_t b, uint32_t *hi) {
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    return (uint32_t)p;
}

SNN_DEVICE SNN_INLINE snn_u4 snn_philox4x32_10(snn_u4 c, uint32_t k0, uint32_t k1) {
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        uint32_t hi0, hi1;
        uint32_t lo0 = snn_mulhilo(0xD2511F53u, c.x, &hi0);
        uint32_t lo1 = snn_mulhilo(0xCD9E8D57u, c.z, &hi1);
        snn_u4 n;
        n.x = hi1 ^ c.y ^ k0;
        n.y = lo1;
        n.z = hi0 ^ c.w ^ k1;
        n.w = lo0;
        c = n;
    }
    return c;
}

// Four 32-bit words for (seed, stream, entity, counter).
SNN_DEVICE SNN_INLINE snn_u4 snn_random4(uint64_t seed, uint32_t stream, uint32_t entity,
                                         uint64_t counter) {
    snn_u4 c;
    c.x = (uint32_t)counter;
    c.y = (uint32_t)(counter >> 32);
    c.z = entity;
    c.w = stream;
    return snn_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

// The blocks of 16 consecutive entities e0, e0 + 1, ... for one counter,
// word by word: x[l], y[l], z[l], w[l] are snn_random4(seed, stream, e0 + l,
// counter).  With AVX-512 the 16 run side by side in explicit vectors, the
// 32 x 32 -> 64-bit products of even and odd lanes apart (the compiler's
// own vectorisation of the scalar form took 4.8x as long per block).
SNN_DEVICE SNN_INLINE void snn_random4_x16(uint64_t seed, uint32_t stream, uint32_t e0,
                                           uint64_t counter, uint32_t *x, uint32_t *y,
                                           uint32_t *z, uint32_t *w) {
#if defined(SNN_AVX512)
    __m512i cx = _mm512_set1_epi32((int)(uint32_t)counter);
    __m512i cy = _mm512_set1_epi32((int)(uint32_t)(counter >> 32));
    __m512i cz = _mm512_add_epi32(_mm512_set1_epi32((int)e0),
                                  _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                    13, 14, 15));
    __m512i cw = _mm512_set1_epi32((int)stream);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const __m512i m0 = _mm512_set1_epi32((int)0xD2511F53u), m1 = _mm512_set1_epi32((int)0xCD9E8D57u);
    for (int r = 0; r < 10; ++r) {
        if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        const __m512i e0p = _mm512_mul_epu32(cx, m0), o0p = _mm512_mul_epu32(_mm512_srli_epi64(cx, 32), m0);
        const __m512i e1p = _mm512_mul_epu32(cz, m1), o1p = _mm512_mul_epu32(_mm512_srli_epi64(cz, 32), m1);
        const __m512i lo0 = _mm512_mask_blend_epi32(0xAAAA, e0p, _mm512_slli_epi64(o0p, 32));
        const __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e0p, 32), o0p);
        const __m512i lo1 = _mm512_mask_blend_epi32(0xAAAA, e1p, _mm512_slli_epi64(o1p, 32));
        const __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e1p, 32), o1p);
        cx = _mm512_xor_si512(_mm512_xor_si512(hi1, cy), _mm512_set1_epi32((int)k0));
        cz = _mm512_xor_si512(_mm512_xor_si512(hi0, cw), _mm512_set1_epi32((int)k1));
        cy = lo1;
        cw = lo0;
    }
    _mm512_storeu_si512((void *)x, cx);
    _mm512_storeu_si512((void *)y, cy);
    _mm512_storeu_si512((void *)z, cz);
    _mm512_storeu_si512((void *)w, cw);
#else
    SNN_SIMD
    for (int l = 0; l < 16; ++l) {
        const snn_u4 r = snn_random4(seed, stream, e0 + (uint32_t)l, counter);
        x[l] = r.x;
        y[l] = r.y;
        z[l] = r.z;
        w[l] = r.w;
    }
#endif
}

// Uniform double in (0, 1) from two words: 53 random bits, never 0 or 1.
SNN_DEVICE SNN_INLINE double snn_u01(uint32_t a, uint32_t b) {
    uint64_t m = ((uint64_t)(a >> 5) << 26) | (uint64_t)(b >> 6);
    return ((double)m + 0.5) * (1.0 / 9007199254740992.0);
}

// Integer in [0, n) by multiply-shift (bias below n / 2^32).
SNN_DEVICE SNN_INLINE uint32_t snn_below(uint32_t x, uint32_t n) {
    return (uint32_t)(((uint64_t)x * (uint64_t)n) >> 32);
}

// Natural logarithm of a positive, finite, normal double from IEEE-exact
// operations only (the libm and CUDA logs differ in the last bit).
// log x = e ln2 + 2 atanh(s), s = (m - 1) / (m + 1), m in [sqrt(1/2), sqrt(2)).
// Maximum error about 1 ulp, plenty for sampling.
SNN_DEVICE SNN_INLINE double snn_log(double x) {
    uint64_t bits = SNN_DOUBLE_BITS(x);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    double m = SNN_BITS_DOUBLE((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    if (m > 1.4142135623730951) { m = m * 0.5; e += 1; }
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s;
    double p = 1.0 / 25.0;
    p = p * s2 + 1.0 / 23.0;
    p = p * s2 + 1.0 / 21.0;
    p = p * s2 + 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    return ((double)e * ln2_hi) + ((2.0 * s * p) + (double)e * ln2_lo);
}

// exp(x) from IEEE-exact operations only, like snn_log (about 1 ulp):
// x = k ln2 + r, |r| <= ln2 / 2, exp(r) by its Taylor series to r^13.
SNN_DEVICE SNN_INLINE double snn_exp(double x) {
    if (!(x > -708.0)) return x != x ? x : 0.0;  // NaN stays NaN
    if (x > 709.0) return SNN_BITS_DOUBLE(0x7ff0000000000000ull);  // +inf
    const double k = floor(x * 1.4426950408889634 + 0.5);
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k in two factors, so that k = -1022 .. 1023 stay normal
    const int64_t ki = (int64_t)k, k1 = ki / 2, k2 = ki - k1;
    return p * SNN_BITS_DOUBLE((uint64_t)(k1 + 1023) << 52) *
           SNN_BITS_DOUBLE((uint64_t)(k2 + 1023) << 52);
}

// x^y for x >= 0 (0 for x = 0, y > 0), portable like snn_exp and snn_log.
SNN_DEVICE SNN_INLINE double snn_pow(double x, double y) {
    return x > 0.0 ? snn_exp(y * snn_log(x)) : 0.0;
}

// Standard normal deviate number `counter` (< 2^48) of (seed, stream, entity):
// the 128-layer ziggurat of Marsaglia & Tsang (2000), one Philox block per
// attempt (98.8 % accepted at once: a multiply and a compare), Marsaglia's
// (1964) method in the tail.  Tables in ziggurat.h; exp and log portable.
SNN_DEVICE SNN_INLINE double snn_normal(uint64_t seed, uint32_t stream, uint32_t entity,
                                        uint64_t counter) {
    for (uint64_t attempt = 0; attempt < 256; ++attempt) {
        const snn_u4 r = snn_random4(seed, stream, entity, counter | (attempt << 48));
        const int i = (int)(r.x & 127u);  // layer
        // |u| in (0, 1) from 53 bits, the sign from another
        const uint64_t mag = ((uint64_t)r.y << 21) | (uint64_t)(r.x >> 11);
        const double u = ((double)mag + 0.5) * (1.0 / 9007199254740992.0);
        const double sign = (r.x >> 8) & 1u ? -1.0 : 1.0;
        const double z = u * snn_zig_x[i];
        if (z < snn_zig_x[i + 1]) return sign * z;  // inside the layer's core
        if (i == 0) {  // the tail beyond R, until accepted
            for (uint64_t k = 0; k < 256; ++k) {
                const snn_u4 t = snn_random4(seed, stream, entity,
                                             counter | (attempt << 48) | ((k + 1) << 56));
                const double a = -snn_log(snn_u01(t.x, t.y)) / SNN_ZIGGURAT_R;
                const double b = -snn_log(snn_u01(t.z, t.w));
                if (b + b > a * a) return sign * (SNN_ZIGGURAT_R + a);
            }
            return sign * SNN_ZIGGURAT_R;  // (unreachable in practice: 2^-1000)
        }
        // the wedge: compare a uniform height in the layer with the density
        const double y = snn_zig_f[i] + ((double)r.z + 0.5) * (1.0 / 4294967296.0) *
                                            (snn_zig_f[i + 1] - snn_zig_f[i]);
        if (y < snn_exp(-0.5 * z * z)) return sign * z;
    }
    return 0.0;  // (unreachable in practice: 0.012^256)
}

// Poisson deviate with mean lam <= ~30 by inversion from one uniform;
// exp_neg_lam = exp(-lam) computed on the host.
SNN_DEVICE SNN_INLINE int32_t snn_poisson_small(double u, double lam, double exp_neg_lam) {
    int32_t k = 0;
    double p = exp_neg_lam, f = p;
    while (u > f && k < 1000) {
        k += 1;
        p = p * lam / (double)k;
        f = f + p;
    }
    return k;
}

// Number of failures before the first success of Bernoulli(p) trials, from
// one uniform u in (0, 1): floor(log u / log(1 - p)); 2^30 for p <= 0.
SNN_DEVICE SNN_INLINE double snn_geometric(double u, double p) {
    if (p >= 1.0) return 0.0;
    if (!(p > 0.0)) return 1073741824.0;
    const double k = floor(snn_log(u) / snn_log(1.0 - p));
    return k < 1073741824.0 ? k : 1073741824.0;
}
