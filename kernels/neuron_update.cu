// neuron_update: one step of a neuron population.
//
// The model-specific part is a struct generated from the model's C snippets
// (snnlab/plan/sources.py): `Consts load(const double *param)` reads the
// parameters and derived constants once per launch, and
//     bool step(scalar *state, int64_t n, int64_t i, const Consts &c,
//               const scalar *input, int64_t snn_in_stride, int32_t &refrac,
//               const SnnStepCtx &ctx)
// loads a neuron's state, integrates, tests the threshold, resets and stores;
// `has_refractory` says whether it uses the refractory counter at all,
// `vectorize` whether the CPU runs it in the two-pass loop below (not when
// a snippet draws random numbers).
// This template does the rest, identically for every model: gather and clear
// the input of this step, emit and record spikes.
#include "common.h"

#ifndef SNN_NEURON_BLOCK
#define SNN_NEURON_BLOCK 256
#endif
static_assert(SNN_NEURON_BLOCK % 8 == 0, "the spike flags are read eight at a time");

struct SnnStepCtx {
    int64_t first;  // the global index of the first neuron held here (ranks)
    int64_t step;
    double t;  // time at the start of the step [ms]
    uint64_t seed;
    uint32_t stream;
};

template <class M>
SNN_DEVICE void neuron_update_impl(const int64_t n, const int64_t first,
                                   scalar *SNN_RESTRICT state,
                                   const double *SNN_RESTRICT param,
                                   int32_t *SNN_RESTRICT refrac, int64_t *SNN_RESTRICT inbuf,
                                   const int32_t n_slots,
                                   const int64_t *step_ptr, const double dt,
                                   const uint64_t seed, const uint32_t stream,
                                   int32_t *SNN_RESTRICT spikes, int32_t *n_spikes,
                                   uint32_t *rec_bits, const int64_t *rec_info,
                                   const int64_t *own) {
    SnnStepCtx ctx;
    ctx.first = first;
    ctx.step = *step_ptr;
    ctx.t = (double)ctx.step * dt;
    ctx.seed = seed;
    ctx.stream = stream;
    const int64_t slot = ctx.step % n_slots;
    const typename M::Consts c = M::load(param);
#if !defined(SNN_CUDA)
    // Each thread its own neurons (snn_own: the population's partition).
    const int64_t n_thr = SNN_NUM_THREADS, thr = SNN_THREAD_ID;
    const int64_t lo = snn_own(own, n, thr, n_thr), hi = snn_own(own, n, thr + 1, n_thr);
    // On the CPU in blocks of SNN_NEURON_BLOCK: first the neurons' updates,
    // a loop with no call and no shared counter, which the compiler
    // vectorises (each lane does the scalar arithmetic, IEEE operations
    // without contraction: the same bits), then the block's spikes
    // appended.  A model whose snippets draw random numbers keeps the fused
    // loop below: in lanes its rare branches (a reset's draw) would run for
    // every neuron.
    if (M::vectorize) {
        // this thread's spikes, appended to the shared list a run at a time:
        // one atomic per run, not per spike (the counter's line, written
        // by every thread, took as long as the update itself at 2 threads)
        int32_t mine[4 * SNN_NEURON_BLOCK];
        int32_t n_mine = 0;
        // The next step's slot of the ring, asked for while this step's is
        // read: `deliver` adds its queues into it at scattered offsets,
        // which missed the caches line by line (the slot was last touched
        // n_slots steps before).
        const int64_t next_slot = slot + 1 == n_slots ? 0 : slot + 1;
        for (int64_t b0 = lo; b0 < hi; b0 += SNN_NEURON_BLOCK) {
            const int64_t m = hi - b0 < SNN_NEURON_BLOCK ? hi - b0 : SNN_NEURON_BLOCK;
            int32_t fired[SNN_NEURON_BLOCK];  // (32 bits, as wide as the state's floats)
            // with several ports, the block's input first, a loop of its own
            // per port (read in the update loop, the ports' rows keep the
            // compiler from vectorising), [port][neuron]: the model reads its
            // ports a row apart, and each row is written with whole vectors
            // ([neuron][port] took one store an element: a third of the
            // microcircuit's update); with one port, read where it is
            constexpr int32_t P = M::n_ports > 1 ? M::n_ports : 1;
            scalar in_block[M::n_ports > 1 ? SNN_NEURON_BLOCK * P : 1];
            for (int32_t p = 0; p < M::n_ports; ++p) {  // the next step's slot: see above
                const char *next = (const char *)(snn_inbuf(inbuf, n, n_slots, p, next_slot) + b0);
                for (int64_t k = 0; k < m; k += 8) __builtin_prefetch(next + 8 * k, 1);
            }
            for (int32_t p = 0; M::n_ports > 1 && p < M::n_ports; ++p) {
                int64_t *SNN_RESTRICT b = snn_inbuf(inbuf, n, n_slots, p, slot) + b0;
                for (int64_t k = 0; k < m; ++k) {
                    in_block[p * SNN_NEURON_BLOCK + k] = (scalar)snn_from_fixed(b[k]);
                    b[k] = 0;
                }
            }
            SNN_SIMD
            for (int64_t k = 0; k < m; ++k) {
                const int64_t i = b0 + k;
                scalar one[1] = {0};
                if (M::n_ports == 1) {
                    int64_t *b = snn_inbuf(inbuf, n, n_slots, 0, slot) + i;
                    one[0] = (scalar)snn_from_fixed(*b);
                    *b = 0;
                }
                const scalar *input = M::n_ports > 1 ? in_block + k : one;
                int32_t r = M::has_refractory ? refrac[i] : 0;
                fired[k] = M::step(state, n, i, c, input, SNN_NEURON_BLOCK, r, ctx);
                if (M::has_refractory) refrac[i] = r;
            }
            for (int64_t k = m; k & 7; ++k) fired[k] = 0;
            for (int64_t k = 0; k < m; k += 8) {  // eight flags at a time: spikes are rare
                uint64_t w[4];
                memcpy(w, fired + k, sizeof w);
                if (!(w[0] | w[1] | w[2] | w[3])) continue;
                for (int64_t q = k; q < k + 8; ++q) {
                    if (!fired[q]) continue;
                    mine[n_mine++] = (int32_t)(b0 + q);
                    snn_record_spike(rec_bits, rec_info, ctx.step, b0 + q);
                }
            }
            const bool last = b0 + SNN_NEURON_BLOCK >= hi;
            if (n_mine > 3 * SNN_NEURON_BLOCK || (last && n_mine > 0)) {  // room for a block
                const int32_t s = SNN_ATOMIC_ADD_I32(n_spikes, n_mine);
                memcpy(spikes + s, mine, sizeof(int32_t) * (size_t)n_mine);
                n_mine = 0;
            }
        }
        return;
    }
#else
    (void)own;
#endif
#if defined(SNN_CUDA)
    SNN_LOOP(i, n) {
#else
    for (int64_t i = lo; i < hi; ++i) {
#endif
        scalar input[M::n_ports > 0 ? M::n_ports : 1];
        for (int32_t p = 0; p < M::n_ports; ++p) {
            int64_t *b = snn_inbuf(inbuf, n, n_slots, p, slot) + i;
            input[p] = (scalar)snn_from_fixed(*b);
            *b = 0;
        }
        // a model without a refractory period never changes its counter
        // from 0: no load and store per neuron and step
        int32_t r = M::has_refractory ? refrac[i] : 0;
        if (M::step(state, n, i, c, input, 1, r, ctx)) {
            int32_t k = SNN_ATOMIC_ADD_I32(n_spikes, 1);
            spikes[k] = (int32_t)i;
            snn_record_spike(rec_bits, rec_info, ctx.step, i);
        }
        if (M::has_refractory) refrac[i] = r;
    }
}
