// connect: build a projection's ragged matrix on the device, keyed by target.
//
// The sources of target j are a pure function of (seed, stream, j), so any
// partition of the targets (threads, blocks, MPI ranks) builds the same
// synapses.  Rows are presynaptic, so the target-major draws are transposed by
// a stable counting sort over chunks of targets:
//   connect_count   per chunk of targets, how many synapses each source gets
//   connect_scan    per source, the running start of each chunk; row lengths
//   connect_scatter per chunk, the synapses written at their final place
// Within a row, synapses are ordered by target, then by draw: the canonical
// order, whatever the target or the number of chunks.  A rank builds the
// synapses onto its targets [j_begin, j_end) only, and stores each target
// as j - j_begin, its index on the rank.
//
// ip = {kind, n_pre, n_post, K, allow_autapses, same_population, seed, stream,
//       j_begin, j_end};  dp = {p, log(1 - p)}
// dist: see snn_draw in common.h
#include "common.h"

enum { SNN_ONE_TO_ONE = 0, SNN_ALL_TO_ALL = 1, SNN_FIXED_INDEGREE = 2,
       SNN_FIXED_PROBABILITY = 3, SNN_FIXED_TOTAL_NUMBER = 4 };

struct SnnConnGen {
    int32_t kind;
    int64_t n_pre, n_cand, K;
    bool skip_self;
    uint64_t seed;
    uint32_t stream;
    double logq;
    const int32_t *per_target;
    int64_t j, k, cur, n_draws;
    snn_u4 block;  // the Philox block of the current group of four draws

    SNN_DEVICE SNN_INLINE SnnConnGen(const int64_t *ip, const double *dp, const int32_t *pt) {
        kind = (int32_t)ip[0];
        n_pre = ip[1];
        K = ip[3];
        skip_self = !ip[4] && ip[5];
        seed = (uint64_t)ip[6];
        stream = (uint32_t)ip[7];
        logq = dp[1];
        per_target = pt;
        n_cand = skip_self ? n_pre - 1 : n_pre;
    }
    SNN_DEVICE SNN_INLINE void init(int64_t target) {
        j = target;
        k = 0;
        cur = -1;
        n_draws = 0;
    }
    // 32-bit draw number d of this target: word d % 4 of block d / 4
    SNN_DEVICE SNN_INLINE uint32_t word(int64_t d) {
        if ((d & 3) == 0) block = snn_random4(seed, stream, (uint32_t)j, (uint64_t)(d >> 2));
        const uint32_t w[4] = {block.x, block.y, block.z, block.w};
        return w[d & 3];
    }
    // candidate index in [0, n_cand) -> source, leaving out the target itself
    SNN_DEVICE SNN_INLINE int32_t source(int64_t x) const {
        return (int32_t)(skip_self && x >= j ? x + 1 : x);
    }
    SNN_DEVICE SNN_INLINE bool next(int32_t *pre) {
        switch (kind) {
        case SNN_ONE_TO_ONE:
            if (k > 0 || j >= n_pre) return false;
            *pre = (int32_t)j;
            break;
        case SNN_ALL_TO_ALL:
            if (k >= n_cand) return false;
            *pre = source(k);
            break;
        case SNN_FIXED_INDEGREE:
        case SNN_FIXED_TOTAL_NUMBER: {
            int64_t count = kind == SNN_FIXED_INDEGREE ? K : per_target[j];
            if (k >= count || n_cand <= 0) return false;
            *pre = source(snn_below(word(k), (uint32_t)n_cand));
            break;
        }
        case SNN_FIXED_PROBABILITY: {
            // geometric gaps between accepted candidates (Bernoulli trials)
            const uint32_t a = word(n_draws), b = word(n_draws + 1);
            n_draws += 2;
            double gap = snn_log(snn_u01(a, b)) / logq;
            if (!(gap >= 0.0 && gap < (double)n_cand)) return false;  // also p = 0
            cur += (int64_t)gap + 1;
            if (cur >= n_cand) return false;
            *pre = source(cur);
            break;
        }
        default:
            return false;
        }
        k += 1;
        return true;
    }
};

// Calls f(j, k, pre) for synapse k of every target j of chunk c, in order.
template <class F>
SNN_DEVICE SNN_INLINE void snn_chunk_synapses(const int64_t *ip, const double *dp,
                                              const int32_t *per_target, int64_t c,
                                              int64_t chunk, F f) {
    const int64_t j0 = ip[8], j1 = ip[9];
    const int64_t end = j0 + (c + 1) * chunk < j1 ? j0 + (c + 1) * chunk : j1;
    SnnConnGen g(ip, dp, per_target);
    for (int64_t j = j0 + c * chunk; j < end; ++j) {
        g.init(j);
        int32_t pre;
        while (g.next(&pre)) f(j, g.k - 1, pre);
    }
}

SNN_KERNEL void connect_count(const int64_t *ip, const double *dp, const int32_t *per_target,
                              const int64_t n_chunks, const int64_t chunk, int32_t *counts) {
    const int64_t n_pre = ip[1];
    SNN_LOOP(c, n_chunks) {
        int32_t *cnt = counts + c * n_pre;
        snn_chunk_synapses(ip, dp, per_target, c, chunk,
                           [&](int64_t, int64_t, int32_t pre) { cnt[pre] += 1; });
    }
}

// counts -> per chunk start offsets within each row; row_length += totals
SNN_KERNEL void connect_scan(int32_t *counts, const int64_t n_chunks, const int64_t n_pre,
                             int32_t *row_length) {
    SNN_LOOP(pre, n_pre) {
        int32_t acc = row_length[pre];
        for (int64_t c = 0; c < n_chunks; ++c) {
            int32_t t = counts[c * n_pre + pre];
            counts[c * n_pre + pre] = acc;
            acc += t;
        }
        row_length[pre] = acc;
    }
}

// One synapse between the draw and its place in the row (bucketed scatter).
struct SnnSynRecord {
    int32_t pre, post;
    float weight;
    uint16_t delay;
};

SNN_DEVICE SNN_INLINE uint16_t snn_delay_steps(const double *ddist, uint64_t seed,
                                               uint32_t stream, int64_t j, int64_t k,
                                               double dt, int32_t max_delay_steps) {
    int64_t d = llrint(snn_draw(ddist, seed, stream, j, k) / dt);
    return (uint16_t)(d < 1 ? 1 : (d > max_delay_steps ? max_delay_steps : d));
}

// A target into 32-bit rows, or 16-bit ones (ind16, where the target
// population has at most 65 536 neurons; ind is null then).
SNN_DEVICE SNN_INLINE void snn_store_target(int32_t *ind, uint16_t *ind16, int64_t idx,
                                            int32_t post) {
    if (ind16) ind16[idx] = (uint16_t)post;
    else ind[idx] = post;
}

// cursor (= counts after connect_scan) holds each chunk's start in each row.
// With `scratch` (the CPU: room for the largest chunk per thread, see
// Simulation._connect), a chunk's synapses are first drawn into buckets
// of source rows, then placed bucket by bucket: the draws stream, and the
// placing writes stay within a few hundred rows at a time instead of
// scattering over every row (3x faster for the microcircuit's rows).
#define SNN_BUCKETS 256
SNN_KERNEL void connect_scatter(const int64_t *ip, const double *dp, const int32_t *per_target,
                                const int64_t n_chunks, const int64_t chunk, int32_t *cursor,
                                int32_t *ind, uint16_t *ind16, const int64_t cap,
                                float *weight, const double *wdist, uint16_t *delay,
                                const double *ddist,
                                const double dt, const int32_t max_delay_steps,
                                SnnSynRecord *scratch, const int64_t scratch_per_thread) {
    const int64_t n_pre = ip[1];
    const uint64_t seed = (uint64_t)ip[6];
    const uint32_t stream = (uint32_t)ip[7];
    const int64_t rows_per_bucket = (n_pre + SNN_BUCKETS - 1) / SNN_BUCKETS;
    SNN_LOOP(c, n_chunks) {
        int32_t *cur = cursor + c * n_pre;
        if (!scratch) {  // place each synapse as it is drawn
            snn_chunk_synapses(ip, dp, per_target, c, chunk,
                               [&](int64_t j, int64_t k, int32_t pre) {
                const int64_t idx = (int64_t)pre * cap + cur[pre]++;
                snn_store_target(ind, ind16, idx, (int32_t)(j - ip[8]));
                if (weight) weight[idx] = (float)snn_draw(wdist, seed, stream + 1, j, k);
                if (delay)
                    delay[idx] = snn_delay_steps(ddist, seed, stream + 2, j, k, dt,
                                                 max_delay_steps);
            });
            continue;
        }
        // bucket sizes: a first pass over the chunk draws the sources only
        int64_t start[SNN_BUCKETS + 1], fill[SNN_BUCKETS];
        for (int b = 0; b <= SNN_BUCKETS; ++b) start[b] = 0;
        snn_chunk_synapses(ip, dp, per_target, c, chunk, [&](int64_t, int64_t, int32_t pre) {
            start[pre / rows_per_bucket + 1] += 1;
        });
        for (int b = 0; b < SNN_BUCKETS; ++b) {
            start[b + 1] += start[b];
            fill[b] = start[b];
        }
        SnnSynRecord *buf = scratch + SNN_THREAD_ID * scratch_per_thread;
        snn_chunk_synapses(ip, dp, per_target, c, chunk, [&](int64_t j, int64_t k, int32_t pre) {
            SnnSynRecord r;
            r.pre = pre;
            r.post = (int32_t)(j - ip[8]);
            r.weight = weight ? (float)snn_draw(wdist, seed, stream + 1, j, k) : 0.0f;
            r.delay = delay ? snn_delay_steps(ddist, seed, stream + 2, j, k, dt,
                                              max_delay_steps) : 0;
            buf[fill[pre / rows_per_bucket]++] = r;
        });
        for (int64_t e = 0; e < start[SNN_BUCKETS]; ++e) {
            const SnnSynRecord r = buf[e];
            const int64_t idx = (int64_t)r.pre * cap + cur[r.pre]++;
            snn_store_target(ind, ind16, idx, r.post);
            if (weight) weight[idx] = r.weight;
            if (delay) delay[idx] = r.delay;
        }
    }
}
