// propagate: deliver this step's spikes of one projection through the ragged
// matrix (rows = presynaptic neurons) into the delay ring of the targets.
//
// Weights are either one constant for the projection or a float per synapse;
// delays likewise (steps).  The add is 64-bit fixed point: atomic on the GPU
// (one block per spike, its threads across the row); on the CPU each thread
// owns a range of targets (SNN_FOR_ROWS_OWN in portable.h) and adds plainly.
//
// Delivery queues (CPU, projections with per-synapse weights and delays):
// adding straight into the ring scatters over every slot of every target, far
// more than the caches hold (the microcircuit: ~90 MB, a cache miss per
// synapse).  Instead a thread appends one 8-byte entry (ring offset, float
// weight) to its queue for the arrival slot, and `deliver` adds the queue into
// the ring at the start of the arrival step, when that one slot is all there
// is to touch.  A full queue falls back to the direct add; integer sums make
// both paths give the same result.
//
// Arrivals (CPU, plan.arrivals: every projection onto the population is
// queued): the step's input is gathered in a buffer of its own, `arrive`
// [port][target], not in the step's slot of the ring, which then holds only
// the surplus of full queues.  A thread that adds a surplus stamps its slot
// with the step it is due in (`spill`, a row per thread: only the thread
// that owns those targets writes or reads it), and `deliver` adds a slot
// into `arrive` only in the step its stamp names.  The ring's slots, each
// touched once in n_slots steps, no longer pass through the caches every
// step (a stamp that is stale or extra costs one pass over zeros).
#include "common.h"
// Rows asked for ahead of their turn (CPU; snn_prefetch_row): one row ahead
// left a thread waiting on memory at the start of each row once threads
// share rows (Brunel, N = 12 500, 2 threads: propagation 0.17 s with one,
// 0.15 with two, 0.14 with four; hpc_benchmark alike; 1 thread unchanged).
#ifndef SNN_PREFETCH_ROWS
#define SNN_PREFETCH_ROWS 4
#endif

struct SnnQueue {  // one population's queues: for each thread [slot][its capacity]
    int64_t *count;     // [thread][slot] entries appended (> capacity: overflowed),
                        // a thread's row `stride` long (no line shared between threads)
    uint64_t *entry;    // low half: port * n_slots * n + target (the ring offset
                        // without the slot; with arrivals port * n + target, the
                        // offset in `arrive`); high half: the weight's float bits
    const int64_t *shape;  // [thread] its capacity (entries a slot), then [thread] where
                           // its entries begin: a thread's queues are sized for the
                           // targets it owns (none: 0)
    int64_t *overflow;  // [thread] entries that took the direct path
    int32_t n_threads;
    int64_t stride;
    int64_t *spill;     // [thread][slot] the step a slot's surplus is due (arrivals; else null)
};

template <class Ix, bool IW, bool ID, bool Q>
SNN_DEVICE void propagate_impl(const int32_t *SNN_RESTRICT spikes, const int32_t *n_spikes,
                               const int32_t *SNN_RESTRICT row_length,
                               const Ix *SNN_RESTRICT ind, const int64_t cap,
                               const float *SNN_RESTRICT weight, const double *w_const,
                               const uint16_t *SNN_RESTRICT delay, const int32_t d_const,
                               int64_t *SNN_RESTRICT inbuf, const int64_t n_post,
                               const int32_t port, const int32_t n_slots,
                               const int64_t *step_ptr, const SnnQueue q,
                               const int32_t *SNN_RESTRICT split, const int64_t *own) {
    const int64_t step = *step_ptr;
    const int32_t ns = *n_spikes;
    const int64_t wfix = snn_to_fixed(*w_const);
    int64_t *base = snn_inbuf(inbuf, n_post, n_slots, port, 0);
    const int64_t now = step % n_slots;  // delays are < n_slots: no modulo per synapse
    int64_t *fixed_slot = base + ((now + d_const) % n_slots) * n_post;
    const int64_t tid = Q ? SNN_THREAD_ID : 0;
    // an entry's target in `arrive` [port][target], or in the ring without the slot
    const int64_t port_offset = (int64_t)port * (Q && q.spill ? 1 : n_slots) * n_post;
    int64_t *q_count = Q ? q.count + tid * q.stride : 0;
    int64_t *q_spill = Q && q.spill ? q.spill + tid * q.stride : 0;
    const int64_t q_cap = Q ? q.shape[tid] : 0;
    uint64_t *q_entry = Q ? q.entry + q.shape[q.n_threads + tid] : 0;
    int64_t overflow = 0;
    const int64_t split_stride = SNN_NUM_THREADS - 1;  // inner bounds per row
    SNN_FOR_ROWS_OWN(s, ns, n_post, own) {
        const int64_t pre = spikes[s];
        const int64_t len = row_length[pre];
        const Ix *row = ind + pre * cap;
        const int32_t *bounds = split ? split + pre * split_stride : 0;
        // rows s + 1 .. s + SNN_PREFETCH_ROWS at the first row, then the last of them
        for (int64_t a = s == 0 ? 1 : SNN_PREFETCH_ROWS; a <= SNN_PREFETCH_ROWS; ++a) {
            if (s + a >= ns) break;
            const int64_t next = spikes[s + a];
            const int64_t n_next = row_length[next];
            snn_prefetch_row(ind + next * cap, n_next, snn_rows_lo, snn_rows_hi, n_post);
            if (IW) snn_prefetch_row(weight + next * cap, n_next, snn_rows_lo, snn_rows_hi, n_post);
            if (ID) snn_prefetch_row(delay + next * cap, n_next, snn_rows_lo, snn_rows_hi, n_post);
        }
        SNN_ROW_SEGMENT_AT(j, row, len, n_post, bounds) {
            const int64_t w = IW ? snn_to_fixed((double)weight[pre * cap + j]) : wfix;
            int64_t *dst = fixed_slot;
            int64_t slot = now + d_const;
            if (ID) {  // (delay is null otherwise: read it only here)
                slot = now + delay[pre * cap + j];
                slot = slot >= n_slots ? slot - n_slots : slot;
                dst = base + slot * n_post;
            }
            if (Q) {
                const int64_t c = q_count[slot];
                q_count[slot] = c + 1;
                if (c < q_cap) {
                    q_entry[slot * q_cap + c] =
                        ((uint64_t)SNN_FLOAT_BITS(weight[pre * cap + j]) << 32) |
                        (uint32_t)(port_offset + row[j]);
                    continue;
                }
                overflow += 1;
                if (q_spill) q_spill[slot] = step + (slot >= now ? slot - now : slot + n_slots - now);
            }
            SNN_ACC_ADD(dst + row[j], w);
        }
    }
    if (Q && overflow) q.overflow[tid] += overflow;
    SNN_ROWS_END;
}

SNN_KERNEL void propagate(const int32_t *spikes, const int32_t *n_spikes,
                          const int32_t *row_length, const int32_t *ind, const uint16_t *ind16,
                          const int64_t cap,
                          const float *weight, const double *w_const, const uint16_t *delay,
                          const int32_t d_const, int64_t *inbuf, const int64_t n_post,
                          const int32_t port, const int32_t n_slots, const int64_t *step_ptr,
                          int64_t *q_count, uint64_t *q_entry, const int64_t *q_shape,
                          int64_t *q_overflow, const int32_t q_threads, const int64_t q_stride,
                          int64_t *q_spill, const int32_t *split, const int32_t split_threads,
                          const int64_t *own) {
    const SnnQueue q = {q_count, q_entry, q_shape, q_overflow, q_threads, q_stride, q_spill};
    // the split table serves the team it was made for (and none on the GPU)
    const int32_t *bounds = split && split_threads == SNN_NUM_THREADS ? split : 0;
#define SNN_PROPAGATE_IX(IW, ID, Q, IX, ROWS)                                                \
    propagate_impl<IX, IW, ID, Q>(spikes, n_spikes, row_length, ROWS, cap, weight, w_const,  \
                                  delay, d_const, inbuf, n_post, port, n_slots, step_ptr, q, \
                                  bounds, own)
    // targets stored as 16 bits where the projection's target population is
    // small enough (ind16; ind is null then): half the rows' memory traffic
#define SNN_PROPAGATE(IW, ID, Q)                                        \
    do {                                                                \
        if (ind16) SNN_PROPAGATE_IX(IW, ID, Q, uint16_t, ind16);       \
        else SNN_PROPAGATE_IX(IW, ID, Q, int32_t, ind);                \
    } while (0)
    // a null per-synapse array means the projection's constant is used; queues
    // exist only on the CPU, for as many threads as run
    if (SNN_HAS_QUEUES && q_count && weight && delay && SNN_NUM_THREADS <= q_threads) {
        SNN_PROPAGATE(true, true, true);
    } else {
        if (weight && delay) SNN_PROPAGATE(true, true, false);
        else if (weight) SNN_PROPAGATE(true, false, false);
        else if (delay) SNN_PROPAGATE(false, true, false);
        else SNN_PROPAGATE(false, false, false);
    }
#undef SNN_PROPAGATE
#undef SNN_PROPAGATE_IX
}

// propagate_prefetch (CPU): ask for what this step's propagations will
// read, before the first of them starts, for every projection at once.  A
// row's first lines are otherwise fetched on demand: propagate's look-ahead
// works within a projection, and the microcircuit's 64 projections see one
// or two spikes each a step (its propagation stalled on each row's length,
// split bounds and first lines).  Stage 0 asks for the rows' lengths and
// split bounds; stage 1, launched after stage 0 of every projection, reads
// them and asks for this thread's share of each row into the L2 cache.
// Only the rows before propagate's own look-ahead takes over, the first
// SNN_PREFETCH_ROWS + 1 of each projection: the lines asked for stay few
// (a step of a large network would push them out of the cache again).
// Nothing is written: the results cannot change.
#ifndef SNN_PREFETCH_LINES
#define SNN_PREFETCH_LINES 64
#endif
#ifndef SNN_CUDA
template <class T> SNN_DEVICE void snn_prefetch_l2(const T *row, int64_t begin, int64_t end) {
    snn_prefetch_lines<2>(row + begin, ((end - begin) * (int64_t)sizeof(T) + 63) / 64,
                          SNN_PREFETCH_LINES);
}
#endif

SNN_KERNEL void propagate_prefetch(const int32_t *spikes, const int32_t *n_spikes,
                                   const int32_t *row_length, const int32_t *ind,
                                   const uint16_t *ind16, const int64_t cap,
                                   const float *weight, const uint16_t *delay,
                                   const int32_t *split, const int32_t split_threads,
                                   const int32_t stage, const int64_t n_post,
                                   const int64_t *own) {
#ifndef SNN_CUDA
    const int64_t t = SNN_THREAD_ID, k = SNN_NUM_THREADS;
    const int64_t lo = snn_own(own, n_post, t, k), hi = snn_own(own, n_post, t + 1, k);
    // (none where this thread owns none of the targets: propagate walks no row)
    const int64_t ns = lo >= hi ? 0
                       : *n_spikes < SNN_PREFETCH_ROWS + 1 ? *n_spikes : SNN_PREFETCH_ROWS + 1;
    const int32_t *bounds = split && split_threads == k && k > 1 ? split : 0;
    for (int64_t s = 0; s < ns; ++s) {
        const int64_t pre = spikes[s];
        if (stage == 0) {
            __builtin_prefetch(row_length + pre, 0, 2);
            if (bounds) __builtin_prefetch(bounds + pre * (k - 1) + (t > 0 ? t - 1 : 0), 0, 2);
            continue;
        }
        const int64_t len = row_length[pre];
        // without a split table, this thread's part by position (as
        // snn_prefetch_row): the search by target that propagate makes
        // would wait on the row itself
        const int64_t b = lo > 0 && bounds ? bounds[pre * (k - 1) + t - 1]
                                           : snn_row_guess(len, lo, n_post);
        const int64_t e = hi < n_post && bounds ? bounds[pre * (k - 1) + t]
                                                : snn_row_guess(len, hi, n_post);
        if (ind16) snn_prefetch_l2(ind16 + pre * cap, b, e);
        else snn_prefetch_l2(ind + pre * cap, b, e);
        if (weight) snn_prefetch_l2(weight + pre * cap, b, e);
        if (delay) snn_prefetch_l2(delay + pre * cap, b, e);
    }
#endif
}

// propagate_tm: a projection of Tsodyks-Markram synapses
// (snnlab/plasticity/short_term.py): each synapse's state brought from its
// last spike to this one and the spike transmitted with weight w u x, as
// NEST's tsodyks_synapse computes it (its order of operations, exp by
// snn_exp: the same bits on both targets).  State per synapse, in the rows:
// used = 1 - x, y, u, and the stamp (step + 1) of its last spike (all 0: a
// recovered synapse, h from time 0); tm = {U, tau_rec, tau_fac}; tau_psc
// per target.  Each synapse is its thread's (the thread owns its target):
// no atomics on the CPU; on the GPU a row's synapses are spread over one
// block's threads.  Never queued: added into the ring directly.
template <class Ix>
SNN_DEVICE void propagate_tm_impl(const int32_t *SNN_RESTRICT spikes, const int32_t *n_spikes,
                                  const int32_t *SNN_RESTRICT row_length,
                                  const Ix *SNN_RESTRICT ind, const int64_t cap,
                                  const float *weight, const double *w_const,
                                  const uint16_t *delay, const int32_t d_const, int64_t *inbuf,
                                  const int64_t n_post, const int32_t port,
                                  const int32_t n_slots, const int64_t *step_ptr,
                                  const double dt, const double *tm, const double *tau_psc,
                                  double *used, double *y, double *u, int64_t *last,
                                  const int32_t *split, const int64_t *own) {
    const int64_t step = *step_ptr, stamp = step + 1;
    const int32_t ns = *n_spikes;
    const double U = tm[0], tau_rec = tm[1], tau_fac = tm[2];
    int64_t *base = snn_inbuf(inbuf, n_post, n_slots, port, 0);
    const int64_t now = step % n_slots;
    const int64_t split_stride = SNN_NUM_THREADS - 1;
    SNN_FOR_ROWS_OWN(s, ns, n_post, own) {
        const int64_t pre = spikes[s];
        const int64_t len = row_length[pre];
        const Ix *row = ind + pre * cap;
        const int32_t *bounds = split ? split + pre * split_stride : 0;
        // the propagators of the last (interval, tau_psc): a row's synapses share
        // the interval (they see the same spikes), and mostly tau_psc: three exp
        // a row, not a synapse (the same values either way)
        int64_t c_gap = -1;
        double c_tp = -1.0, Puu = 0.0, Pyy = 0.0, Pxy = 0.0, Pxz = 0.0;
        SNN_ROW_SEGMENT_AT(j, row, len, n_post, bounds) {
            const int64_t k = pre * cap + j;
            const double tp = tau_psc[row[j]];
            const int64_t gap = stamp - last[k];
            if (gap != c_gap || tp != c_tp) {
                const double h = (double)gap * dt;
                Puu = tau_fac == 0.0 ? 0.0 : snn_exp(-h / tau_fac);
                Pyy = snn_exp(-h / tp);
                const double Pzz = snn_exp(-h / tau_rec);
                Pxy = ((Pzz - 1.0) * tau_rec - (Pyy - 1.0) * tp) / (tp - tau_rec);
                Pxz = 1.0 - Pzz;
                c_gap = gap;
                c_tp = tp;
            }
            double x = 1.0 - used[k], yk = y[k], uk = u[k];
            const double z = 1.0 - x - yk;
            uk *= Puu;
            x += Pxy * yk + Pxz * z;
            yk *= Pyy;
            uk += U * (1.0 - uk);
            const double delta = uk * x;
            x -= delta;
            yk += delta;
            used[k] = 1.0 - x;
            y[k] = yk;
            u[k] = uk;
            last[k] = stamp;
            const double w = weight ? (double)weight[k] : *w_const;
            int64_t slot = now + (delay ? (int64_t)delay[k] : (int64_t)d_const);
            slot = slot >= n_slots ? slot - n_slots : slot;
            SNN_ACC_ADD(base + slot * n_post + row[j], snn_to_fixed(delta * w));
        }
    }
    SNN_ROWS_END;
}

SNN_KERNEL void propagate_tm(const int32_t *spikes, const int32_t *n_spikes,
                             const int32_t *row_length, const int32_t *ind, const int64_t cap,
                             const float *weight, const double *w_const,
                             const uint16_t *delay, const int32_t d_const, int64_t *inbuf,
                             const int64_t n_post, const int32_t port, const int32_t n_slots,
                             const int64_t *step_ptr, const double dt, const double *tm,
                             const double *tau_psc, double *used, double *y, double *u,
                             int64_t *last, const int32_t *split, const int32_t split_threads,
                             const int64_t *own) {
    // (the split table serves the team it was made for, and none on the GPU)
    propagate_tm_impl<int32_t>(spikes, n_spikes, row_length, ind, cap, weight, w_const, delay,
                               d_const, inbuf, n_post, port, n_slots, step_ptr, dt, tm, tau_psc,
                               used, y, u, last,
                               split && split_threads == SNN_NUM_THREADS ? split : 0, own);
}

// row_splits: a static projection's split table, where each of k CPU
// threads' targets begin in each row: split[row * (k - 1) + t - 1] for
// threads t = 1 .. k - 1 (thread 0 begins at 0; the last ends at the row's
// length), thread t's targets being the target population's partition's
// (snn_own).  Made once for the rows as built (Projections.split_table), it
// spares propagate a search per row and thread.
SNN_KERNEL void row_splits(const int32_t *row_length, const int32_t *ind, const uint16_t *ind16,
                           const int64_t cap, const int64_t n_pre, const int64_t n_post,
                           const int32_t k, int32_t *split, const int64_t *own) {
    SNN_LOOP(i, n_pre) {
        const int64_t len = row_length[i];
        for (int64_t t = 1; t < k; ++t) {
            const int64_t value = snn_own(own, n_post, t, k);
            split[i * (k - 1) + t - 1] = (int32_t)(
                ind16 ? snn_row_split_at(ind16 + i * cap, len, n_post, value)
                      : snn_row_split_at(ind + i * cap, len, n_post, value));
        }
    }
}

// deliver: at the start of a step, add each thread's queue for this step's
// slot into the ring (or into `arrive`, with any surplus due now), and empty
// it.  Thread t's entries all lie in its own target range (snn_own: the
// population's partition), so thread t adds queue t, with no atomics.
SNN_DEVICE void snn_deliver_queue(int64_t *q_count, const uint64_t *q_entry,
                                  const int64_t *q_shape, const int32_t q_threads,
                                  const int64_t q_stride,
                                  const int32_t n_slots, const int64_t now, int64_t *slot_base,
                                  const int64_t t) {
    int64_t *count = q_count + t * q_stride + now;
    const int64_t cap = q_shape[t];
    const int64_t c = *count < cap ? *count : cap;
    const uint64_t *e = q_entry + q_shape[q_threads + t] + now * cap;
    for (int64_t k = 0; k < c; ++k) {
        const float w = SNN_BITS_FLOAT((uint32_t)(e[k] >> 32));
        slot_base[(uint32_t)e[k]] += snn_to_fixed((double)w);
    }
    *count = 0;
}
SNN_KERNEL void deliver(int64_t *q_count, const uint64_t *q_entry, const int64_t *q_shape,
                        const int32_t q_threads, const int64_t q_stride, int64_t *inbuf,
                        const int64_t n_post, const int32_t n_slots, const int64_t *step_ptr,
                        int64_t *arrive, const int64_t *q_spill, const int32_t n_ports,
                        const int64_t *own) {
    const int64_t step = *step_ptr, now = step % n_slots;
    int64_t *slot_base = arrive ? arrive : inbuf + now * n_post;
#ifndef SNN_CUDA
    if (arrive) {  // the surplus this thread added for this step, into its own targets
        const int64_t t = SNN_THREAD_ID, k = SNN_NUM_THREADS;
        if (t < q_threads && q_spill[t * q_stride + now] == step) {  // (teams are q_threads)
            const int64_t lo = snn_own(own, n_post, t, k), hi = snn_own(own, n_post, t + 1, k);
            for (int32_t p = 0; p < n_ports; ++p) {
                int64_t *SNN_RESTRICT r = snn_inbuf(inbuf, n_post, n_slots, p, now);
                int64_t *SNN_RESTRICT a = arrive + p * n_post;
                for (int64_t i = lo; i < hi; ++i) {
                    a[i] += r[i];
                    r[i] = 0;
                }
            }
        }
    }
    // thread t, queue t: the queue of the targets it owns (the team is the
    // plan's threads, q_threads, fixed by the driver: SnnFixedTeam in
    // cpu_host.h; propagate queues nothing in a larger one)
    if (SNN_THREAD_ID < q_threads)
        snn_deliver_queue(q_count, q_entry, q_shape, q_threads, q_stride, n_slots, now,
                          slot_base, SNN_THREAD_ID);
#else
    (void)own;
    SNN_LOOP(t, q_threads)  // (no queues on the GPU: none filled)
        snn_deliver_queue(q_count, q_entry, q_shape, q_threads, q_stride, n_slots, now,
                          slot_base, t);
#endif
}
