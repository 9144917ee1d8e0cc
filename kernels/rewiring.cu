// rewiring: the structural-plasticity framework (snnlab/plasticity/rewiring.py).
//
// Every `period` steps, at the start of a step whose index is a positive
// multiple of it, each rewired projection runs its rule row by row:
//   rewire_propose_<rule>  (generated, one thread per row) the rule's code may
//                          remove synapses of its row (compacted at the end,
//                          every per-synapse array moved with its synapse) and
//                          propose new ones (kept per row, claimed per target)
//   rewire_commit_<rule>   (generated) inserts the accepted proposals in target
//                          order and initialises their per-synapse values
//   rewire_finalize        (one per target population with a maximum in-degree)
//                          the new in-degrees; clears the claims
// A plastic projection's row is brought up to date (its lazy STDP) before its
// rule runs.
// A proposal onto a target whose in-degree after this call's removals plus all
// claims on it would exceed the maximum fails, together with every other claim
// on that target in the call: the outcome depends on no thread order.
#include "common.h"

// Removed synapses are marked in `ind` by the sign bit until the row is compacted.
#define SNN_REMOVED_BIT 0x80000000u
SNN_DEVICE SNN_INLINE int32_t snn_target_of(int32_t x) {
    return (int32_t)((uint32_t)x & ~SNN_REMOVED_BIT);
}

// Uniform number k (< 2^21) of row `row` in rewiring call `call`.
SNN_DEVICE SNN_INLINE double snn_rewire_uniform(uint64_t seed, uint32_t stream, int64_t row,
                                                int64_t call, uint32_t k) {
    snn_u4 r = snn_random4(seed, stream, (uint32_t)row, ((uint64_t)call << 20) | (k >> 1));
    return (k & 1) ? snn_u01(r.z, r.w) : snn_u01(r.x, r.y);
}

// An integer in [0, n) from a uniform in (0, 1).
SNN_DEVICE SNN_INLINE int64_t snn_rewire_below(double u, int64_t n) {
    const int64_t k = (int64_t)(u * (double)n);
    return k < n ? k : n - 1;
}

// An attempt's own draws (a rule with `attempts`): uniform k (< 2^13) of
// attempt a (< 2^20) of row `row` in call c is half of the Philox block
// (seed, stream, entity row, counter c 2^32 | a 2^12 | k / 2), on a stream of
// its own (snnlab.random.STREAM_ATTEMPT + projection).  Uniform 0 picks the
// attempt's target; the rule's uniform() draws 1, 2, ...  Keyed by the
// attempt, never by what earlier attempts drew: a rank that runs only the
// attempts onto its own targets draws what one process draws for them.
#define SNN_ATTEMPT_DRAWS 8192
SNN_DEVICE SNN_INLINE double snn_attempt_uniform(uint64_t seed, uint32_t stream, int64_t row,
                                                 int64_t call, int64_t attempt, uint32_t k) {
    const snn_u4 r = snn_random4(seed, stream, (uint32_t)row,
                                 ((uint64_t)call << 32) | ((uint64_t)(attempt & 0xFFFFF) << 12) |
                                     ((k >> 1) & 0xFFFu));
    return (k & 1) ? snn_u01(r.z, r.w) : snn_u01(r.x, r.y);
}

// poisson(lam) of a rule draws from a sequence of its own, not from
// uniform()'s: its uniform number k (< 2^20) of row r in call c is word r % 4
// of the Philox block (seed, stream, entity r / 4, counter 2^63 | c 2^20 | k;
// calls below 2^43, so uniform()'s counters never have the top bit), 32
// random bits.  Four rows share a block: in the Bamford rule every row
// draws one count per call and nearly all are 0, so one block per row was
// most of the rewiring time.  A thread keeps, across its rows, the last
// block and exp(-m) of the last means (the portable exp costs more than a
// row without attempts).
struct SnnPoissonState {
    double m[2], e[2];  // exp(-m): slot 1 the chunks of 16, slot 0 the last other mean
    int64_t group;      // entity of the block held (-1: none)
    uint32_t k;
    snn_u4 block;
};
SNN_DEVICE SNN_INLINE SnnPoissonState snn_poisson_state() {
    SnnPoissonState s;
    s.m[0] = s.m[1] = -1.0;  // means are > 0: never a hit
    s.e[0] = s.e[1] = 0.0;
    s.group = -1;
    s.k = 0;
    s.block.x = s.block.y = s.block.z = s.block.w = 0;
    return s;
}

SNN_DEVICE SNN_INLINE double snn_exp_neg_cached(SnnPoissonState *s, double m) {
    const int k = m == 16.0;
    if (s->m[k] != m) {
        s->m[k] = m;
        s->e[k] = snn_exp(-m);
    }
    return s->e[k];
}

SNN_DEVICE SNN_INLINE double snn_rewire_poisson_uniform(SnnPoissonState *s, uint64_t seed,
                                                        uint32_t stream, int64_t row,
                                                        int64_t call, uint32_t k) {
    const int64_t group = row >> 2;
    if (s->group != group || s->k != k) {
        s->block = snn_random4(seed, stream, (uint32_t)group,
                               (1ull << 63) | ((uint64_t)call << 20) | (k & 0xFFFFFu));
        s->group = group;
        s->k = k;
    }
    const int q = (int)(row & 3);
    const uint32_t w = q == 0 ? s->block.x : q == 1 ? s->block.y : q == 2 ? s->block.z
                                                                          : s->block.w;
    return ((double)w + 0.5) * (1.0 / 4294967296.0);
}

// A Poisson deviate of mean lam: sums of inversions with means <= 16, each
// from the row's next Poisson uniform (*draw).
SNN_DEVICE SNN_INLINE int64_t snn_rewire_poisson(double lam, uint64_t seed, uint32_t stream,
                                                 int64_t row, int64_t call, uint32_t *draw,
                                                 SnnPoissonState *s) {
    int64_t k = 0;
    while (lam > 0.0) {
        const double m = lam < 16.0 ? lam : 16.0;
        lam -= m;
        k += snn_poisson_small(snn_rewire_poisson_uniform(s, seed, stream, row, call, (*draw)++),
                               m, snn_exp_neg_cached(s, m));
    }
    return k;
}

// Position of the first live synapse onto `target` in a row ordered by
// target, or -1.
SNN_DEVICE SNN_INLINE int64_t snn_rewire_find(const int32_t *row, int64_t len, int64_t target) {
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        const int64_t mid = (lo + hi) >> 1;
        if (snn_target_of(row[mid]) < target) lo = mid + 1; else hi = mid;
    }
    for (; lo < len && snn_target_of(row[lo]) == target; ++lo)
        if (row[lo] >= 0) return lo;
    return -1;
}

// Per-call counts: counts[(call - info[0]) * 4 + k], k = formed, removed,
// failed, overflow (a full row: never, when the host keeps the headroom).
SNN_DEVICE SNN_INLINE void snn_rewire_count(int64_t *counts, const int64_t *info, int64_t call,
                                            int k, int64_t v) {
    const int64_t r = call - info[0];
    if (v != 0 && r >= 0 && r < info[1]) SNN_ATOMIC_ADD_I64(counts + r * 4 + k, v);
}

// After all commits onto a target population: in-degree = in-degree - removed
// + the claims if they fitted; claims and removals cleared for the next call.
SNN_KERNEL void rewire_finalize(const int64_t n_post, const int64_t *step_ptr,
                                const int64_t period, int32_t *in_degree, int32_t *claims,
                                int32_t *removed_to, const int32_t max_in) {
    if (!snn_rewire_due(step_ptr, period)) return;
    SNN_LOOP(j, n_post) {
        const int32_t base = in_degree[j] - removed_to[j], c = claims[j];
        in_degree[j] = base + (base + c <= max_in ? c : 0);
        claims[j] = 0;
        removed_to[j] = 0;
    }
}

// remove_synapse(k) of a rule: mark position k (once); its target loses a
// synapse at the end of the call.
SNN_DEVICE SNN_INLINE bool snn_rewire_remove(int32_t *row, int64_t len, int64_t k,
                                             int32_t *removed_to, int64_t *removed) {
    if (k < 0 || k >= len || row[k] < 0) return false;
    if (removed_to) SNN_ATOMIC_ADD_I32(removed_to + row[k], 1);
    row[k] = (int32_t)((uint32_t)row[k] | SNN_REMOVED_BIT);
    *removed += 1;
    return true;
}

// add_synapse(j) of a rule: a proposal onto j, or a failure (j out of range,
// more than max_add proposals in the call, or a second synapse onto j where
// multapses are not allowed).
SNN_DEVICE SNN_INLINE bool snn_rewire_add(const int32_t *row, int64_t len, int64_t j,
                                          int64_t n_post, int32_t *pend, int32_t *n_pend,
                                          int32_t max_add, int32_t multapses, int32_t *claims,
                                          int64_t *failed) {
    bool ok = j >= 0 && j < n_post && *n_pend < max_add;
    if (ok && !multapses) {
        ok = snn_rewire_find(row, len, j) < 0;
        for (int32_t q = 0; ok && q < *n_pend; ++q) ok = pend[q] != j;
    }
    if (!ok) {
        *failed += 1;
        return false;
    }
    pend[(*n_pend)++] = (int32_t)j;
    if (claims) SNN_ATOMIC_ADD_I32(claims + j, 1);
    return true;
}

struct SnnRewireRow;
SNN_DEVICE SNN_INLINE bool snn_attempt_add(SnnRewireRow &r);
SNN_DEVICE SNN_INLINE bool snn_attempt_remove(SnnRewireRow &r, int64_t k);
SNN_DEVICE SNN_INLINE int64_t snn_attempt_poisson(SnnRewireRow &r, double lam);

// ---------------------------------------------------------------------------
// The propose and commit kernels of a rule, as templates over the rule's
// generated struct R (snnlab/plan/sources.py, rewire_kernels):
//   R::Arrays    pointers to the projection's per-synapse arrays
//   R::Consts    the rule's parameters and derived constants; R::load(param)
//   R::track     a maximum in-degree is kept
//   R::sparse    the rule has `attempts`: R::attempts(consts) is their mean
//                per row and call, and only rows with some run
//   R::rule(row, arrays, consts)           a row rule's code, for one row
//   R::attempt(row, arrays, consts)        an attempt rule's code, for one
//                                          attempt (row.id_post, row.local)
//   R::move(arrays, to, from)              every per-synapse array moves
//   R::init(arrays, pos, consts, row, id_post)   the values of a new synapse
// The generated kernels only gather their arguments and call these.

// A row of a rewiring call, as the rule's code sees it (through the macros
// of rewire_kernels: uniform(), add_synapse(j), ...).
struct SnnRewireRow {
    int64_t id_pre, n_post, row_length, call, base;  // base: id_pre * capacity
    int64_t step;
    double t, dt;
    uint64_t seed;
    uint32_t stream;
    int32_t *row;  // the row's targets (ind + base)
    int32_t *removed_to;
    const int32_t *in_degree;
    int32_t *claims;
    int32_t *pend;  // this row's proposals
    int32_t n_pend, max_add, multapses, max_in;
    int64_t removed, failed;
    uint32_t draw, poisson_draw;
    SnnPoissonState *poisson;
    int64_t n_attempts;  // a rule with `attempts`: this row's count in this call
    int64_t attempt, id_post, local;  // the attempt running, its target (global, here)
    int64_t post_first, n_local;  // this rank's targets: [post_first, post_first + n_local)
    uint32_t attempt_stream;
    int32_t attempt_added;  // the attempt running has proposed its synapse
    // a plastic projection (lazy STDP, plasticity.cu): the rows' state, so
    // that a row's potentiation owed is applied before its rule runs
    float *lz_weight;  // (null: not plastic)
    const double *lz_x_last;
    const int64_t *lz_t_pre, *lz_recent, *lz_stamp, *lz_count;
    int64_t *lz_t_proc;
    int64_t lz_K;
    const double *lz_p, *lz_tables;
};

// A row of a plastic projection brought up to date (the potentiation owed
// for the targets' spikes seen in steps before this one, as stdp_lazy_flush
// does) before its rule runs: the rule reads current weights, and a synapse
// it adds is owed only the postsynaptic spikes it sees once it exists (with
// a dendritic delay d, those fired in the last d too, which reach it later).
SNN_DEVICE SNN_INLINE void snn_rewire_settle_row(const SnnRewireRow &r, int64_t i, int64_t cut) {
    const double xl = r.lz_x_last[i];
    if (xl != 0.0) {
        const int64_t tp = r.lz_t_proc[i], tpre = r.lz_t_pre[i];
        float *w_row = r.lz_weight + r.base;
        for (int64_t jb = 0; jb < r.row_length; jb += SNN_ROW_BLOCK) {
            const int64_t je = jb + SNN_ROW_BLOCK < r.row_length ? jb + SNN_ROW_BLOCK
                                                                 : r.row_length;
            snn_lazy_block(r.row, w_row, jb, je, tp, cut, xl, tpre, r.lz_recent, r.lz_stamp,
                           r.lz_count, r.lz_K, 0, 0, 0, 0, r.lz_p, r.lz_tables);
        }
    }
    r.lz_t_proc[i] = cut;
}

// What a rule with `attempts` may do in an attempt: act on the synapse
// between its row and the attempt's target only.
// add_synapse(): a proposal onto the target, one per attempt, and only in the
// first max_add attempts of the row in the call (the count any rank knows:
// a rank does not see the proposals of attempts onto other ranks' targets).
SNN_DEVICE SNN_INLINE bool snn_attempt_add(SnnRewireRow &r) {
    if (r.attempt >= r.max_add || r.attempt_added) {
        r.failed += 1;
        return false;
    }
    r.attempt_added = 1;
    return snn_rewire_add(r.row, r.row_length, r.local, r.n_local, r.pend, &r.n_pend, r.max_add,
                          r.multapses, r.claims, &r.failed);
}

// remove_synapse(k): position k, if it holds a synapse onto the target.
SNN_DEVICE SNN_INLINE bool snn_attempt_remove(SnnRewireRow &r, int64_t k) {
    if (k < 0 || k >= r.row_length || snn_target_of(r.row[k]) != r.local) return false;
    return snn_rewire_remove(r.row, r.row_length, k, r.removed_to, &r.removed);
}

// poisson(lam): sums of inversions with means <= 16 from the attempt's uniforms.
SNN_DEVICE SNN_INLINE int64_t snn_attempt_poisson(SnnRewireRow &r, double lam) {
    int64_t k = 0;
    while (lam > 0.0) {
        const double m = lam < 16.0 ? lam : 16.0;
        lam -= m;
        k += snn_poisson_small(snn_attempt_uniform(r.seed, r.attempt_stream, r.id_pre, r.call,
                                                   r.attempt, r.draw++),
                               m, snn_exp_neg_cached(r.poisson, m));
    }
    return k;
}

// the parameters of both templates (those of the generated kernels, the
// per-synapse arrays gathered in R::Arrays)
#define SNN_REWIRE_PARAMS                                                                    \
    const int64_t n_pre, const int64_t n_post, const int64_t post_first,                    \
        const int64_t n_post_all, const int64_t *step_ptr, const int64_t period,             \
        const double dt, const uint64_t seed, const uint32_t stream,                          \
        const uint32_t attempt_stream, const double *param,                                   \
        int32_t *row_length, int32_t *ind, const int64_t cap,                                 \
        const typename R::Arrays &arrays, const int32_t *in_degree, int32_t *claims,          \
        int32_t *removed_to, const int32_t max_in, int32_t *pend, int32_t *pend_count,        \
        int64_t *proposed, const int32_t max_add, const int32_t multapses, int64_t *counts,   \
        const int64_t *count_info, float *lz_weight, const double *lz_x_last,                 \
        const int64_t *lz_t_pre, int64_t *lz_t_proc, const int64_t *lz_recent,                \
        const int64_t *lz_stamp, const int64_t *lz_count, const int64_t lz_K,                 \
        const double *lz_p, const double *lz_tables

// One row of a call: the rule (a row rule), or each of the row's attempts
// whose target is on this rank (an attempt rule: the target from the
// attempt's uniform 0, so that skipping the others changes no draw); then
// the row compacted where it removed synapses, its proposals kept, its
// counts added.
template <class R>
SNN_DEVICE SNN_INLINE void snn_rewire_row(SnnRewireRow &r, int64_t id_pre,
                                          const typename R::Arrays &arrays,
                                          const typename R::Consts &c, int32_t *row_length,
                                          int32_t *ind, const int64_t cap, int32_t *pend,
                                          int32_t *pend_count, int64_t *proposed,
                                          int64_t *counts, const int64_t *count_info) {
    r.id_pre = id_pre;
    r.row_length = row_length[id_pre];
    r.base = id_pre * cap;
    r.row = ind + r.base;
    r.pend = pend + id_pre * r.max_add;
    r.n_pend = 0;
    r.removed = 0;
    r.failed = 0;
    r.draw = 0;
    r.poisson_draw = 0;
    if (r.lz_weight) snn_rewire_settle_row(r, id_pre, r.step - 1);
    if (!R::sparse) {
        R::rule(r, arrays, c);
    } else {  // the attempts onto this rank's targets
        for (int64_t a = 0; a < r.n_attempts; ++a) {
            const int64_t j = snn_rewire_below(
                snn_attempt_uniform(r.seed, r.attempt_stream, id_pre, r.call, a, 0), r.n_post);
            if (j < r.post_first || j >= r.post_first + r.n_local) continue;
            r.attempt = a;
            r.id_post = j;
            r.local = j - r.post_first;
            r.attempt_added = 0;
            r.draw = 1;
            R::attempt(r, arrays, c);
            if (r.draw > SNN_ATTEMPT_DRAWS)  // its draws repeated: the host raises
                snn_rewire_count(counts, count_info, r.call, 3, 1);
        }
    }
    if (r.removed) {  // compact: every array moves with its synapse
        int64_t w = 0;
        for (int64_t k = 0; k < r.row_length; ++k) {
            if (r.row[k] < 0) continue;
            if (w != k) {
                r.row[w] = r.row[k];
                R::move(arrays, r.base + w, r.base + k);
            }
            ++w;
        }
        row_length[id_pre] = (int32_t)w;
    }
    if (r.n_pend) {  // (a row's count is 0 otherwise: the commit clears it)
        pend_count[id_pre] = r.n_pend;
        SNN_ATOMIC_STORE_I64(proposed, r.call);
    }
    snn_rewire_count(counts, count_info, r.call, 1, r.removed);
    snn_rewire_count(counts, count_info, r.call, 2, r.failed);
}

// Rows of a rule with `attempts` (a mean lam per row and call): only the
// rows with at least one attempt run.  The rows are taken in fixed chunks of
// SNN_REWIRE_CHUNK; in each, the gaps between rows with attempts are
// geometric (floor(-log(u) / lam) rows without, since P(none) = exp(-lam)),
// and a row's count is Poisson(lam) given that it is at least 1 (inverted
// from a uniform above exp(-lam); beyond a mean of 16, as poisson() sums
// chunks of 16, drawn again if 0).  Uniform k of chunk q in call c: Philox (seed,
// stream, entity q, counter 2^62 | c 2^20 | k), 53 bits: counters that
// neither uniform() (below 2^62) nor poisson() (2^63 set) reach; a chunk
// draws fewer than 2^20 (the host keeps lam <= 65000).  The walk depends on
// the chunk alone, never on the threads.
#define SNN_REWIRE_CHUNK 256
SNN_DEVICE SNN_INLINE double snn_rewire_walk_uniform(uint64_t seed, uint32_t stream,
                                                     int64_t chunk, int64_t call, uint32_t k) {
    const snn_u4 b = snn_random4(seed, stream, (uint32_t)chunk,
                                 (1ull << 62) | ((uint64_t)call << 20) | (k & 0xFFFFFu));
    return snn_u01(b.x, b.y);
}

template <class R>
SNN_DEVICE void snn_rewire_propose(SNN_REWIRE_PARAMS) {
    if (!snn_rewire_due(step_ptr, period)) return;
    const int64_t call = *step_ptr / period;
    const typename R::Consts c = R::load(param);
    SnnPoissonState poisson = snn_poisson_state();  // kept across a thread's rows
    SnnRewireRow r;  // what all rows share, set once
    r.n_post = n_post_all;
    r.post_first = post_first;
    r.n_local = n_post;
    r.attempt_stream = attempt_stream;
    r.call = call;
    r.step = *step_ptr;
    r.t = (double)(*step_ptr) * dt;
    r.dt = dt;
    r.seed = seed;
    r.stream = stream;
    r.removed_to = removed_to;
    r.in_degree = in_degree;
    r.claims = claims;
    r.max_add = max_add;
    r.multapses = multapses;
    r.max_in = max_in;
    r.poisson = &poisson;
    r.n_attempts = 0;
    r.lz_weight = lz_weight;
    r.lz_x_last = lz_x_last;
    r.lz_t_pre = lz_t_pre;
    r.lz_t_proc = lz_t_proc;
    r.lz_recent = lz_recent;
    r.lz_stamp = lz_stamp;
    r.lz_count = lz_count;
    r.lz_K = lz_K;
    r.lz_p = lz_p;
    r.lz_tables = lz_tables;
    if (!R::sparse) {
        SNN_LOOP(id_pre, n_pre) {
            snn_rewire_row<R>(r, id_pre, arrays, c, row_length, ind, cap, pend, pend_count,
                              proposed, counts, count_info);
        }
        return;
    }
    const double lam = R::attempts(c);
    if (!(lam > 0.0)) return;
    const double e = lam <= 16.0 ? snn_exp(-lam) : 0.0;
    const int64_t n_chunks = (n_pre + SNN_REWIRE_CHUNK - 1) / SNN_REWIRE_CHUNK;
    SNN_LOOP(q, n_chunks) {
        const int64_t end = (q + 1) * SNN_REWIRE_CHUNK < n_pre ? (q + 1) * SNN_REWIRE_CHUNK
                                                               : n_pre;
        uint32_t k = 0;
        for (int64_t row = q * SNN_REWIRE_CHUNK - 1;;) {
            const double gap = floor(-snn_log(snn_rewire_walk_uniform(seed, stream, q, call, k++))
                                     / lam);
            if (gap >= (double)(end - row - 1)) break;
            row += 1 + (int64_t)gap;
            int64_t n;
            if (lam <= 16.0) {
                const double u = snn_rewire_walk_uniform(seed, stream, q, call, k++);
                n = snn_poisson_small(e + u * (1.0 - e), lam, e);
                n = n > 0 ? n : 1;
            } else {  // (P(0) < 1e-6: hardly ever a second try)
                do {
                    n = 0;
                    for (double rest = lam; rest > 0.0;) {
                        const double m = rest < 16.0 ? rest : 16.0;
                        rest -= m;
                        n += snn_poisson_small(snn_rewire_walk_uniform(seed, stream, q, call, k++),
                                               m, snn_exp_neg_cached(&poisson, m));
                    }
                } while (n == 0);
            }
            r.n_attempts = n;
            snn_rewire_row<R>(r, row, arrays, c, row_length, ind, cap, pend, pend_count,
                              proposed, counts, count_info);
        }
    }
}

template <class R>
SNN_DEVICE void snn_rewire_commit(SNN_REWIRE_PARAMS) {
    (void)seed; (void)stream; (void)attempt_stream; (void)multapses;
    if (!snn_rewire_due(step_ptr, period)) return;
    const int64_t call = *step_ptr / period;
    if (*proposed != call) return;  // no row proposed a synapse
    const typename R::Consts c = R::load(param);
    const double t = (double)(*step_ptr) * dt;
    SNN_LOOP(id_pre, n_pre) {
        const int32_t np = pend_count[id_pre];
        if (np == 0) continue;
        pend_count[id_pre] = 0;
        int32_t *pp = pend + id_pre * max_add;
        for (int32_t a = 1; a < np; ++a) {  // proposals in target order
            const int32_t v = pp[a];
            int32_t b = a;
            for (; b > 0 && pp[b - 1] > v; --b) pp[b] = pp[b - 1];
            pp[b] = v;
        }
        const int64_t base = id_pre * cap;
        int32_t *row = ind + base;
        int64_t len = row_length[id_pre];
        int64_t formed = 0, failed = 0, overflow = 0;
        for (int32_t q = 0; q < np; ++q) {
            const int64_t id_post = pp[q];
            if (R::track && in_degree[id_post] - removed_to[id_post] + claims[id_post] > max_in) {
                ++failed;
                continue;
            }
            if (len >= cap) {
                ++overflow;
                continue;
            }
            int64_t pos = len;  // after any equal target
            for (; pos > 0 && row[pos - 1] > id_post; --pos) {
                row[pos] = row[pos - 1];
                R::move(arrays, base + pos, base + pos - 1);
            }
            row[pos] = (int32_t)id_post;
            R::init(arrays, base + pos, c, id_pre, post_first + id_post, n_post_all, t, dt);
            ++len;
            ++formed;
        }
        row_length[id_pre] = (int32_t)len;
        snn_rewire_count(counts, count_info, call, 0, formed);
        snn_rewire_count(counts, count_info, call, 2, failed);
        snn_rewire_count(counts, count_info, call, 3, overflow);
    }
}
