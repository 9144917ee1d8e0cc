// neuron_update: one step of a neuron population.
//
// The model-specific part is a struct generated from the model's C snippets
// (snnlab/backend/codegen.py): `Consts load(const double *param)` reads the
// parameters and derived constants once per launch, and
//     bool step(scalar *state, int64_t n, int64_t i, const Consts &c,
//               const scalar *input, int32_t &refrac, const SnnStepCtx &ctx)
// loads a neuron's state, integrates, tests the threshold, resets and stores;
// `has_refractory` says whether it uses the refractory counter at all.
// This template does the rest, identically for every model: gather and clear
// the input of this step, emit and record spikes.
#include "common.h"

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
                                   uint32_t *rec_bits, const int64_t *rec_info) {
    SnnStepCtx ctx;
    ctx.first = first;
    ctx.step = *step_ptr;
    ctx.t = (double)ctx.step * dt;
    ctx.seed = seed;
    ctx.stream = stream;
    const int64_t slot = ctx.step % n_slots;
    const typename M::Consts c = M::load(param);
    SNN_LOOP(i, n) {
        scalar input[M::n_ports > 0 ? M::n_ports : 1];
        for (int32_t p = 0; p < M::n_ports; ++p) {
            int64_t *b = snn_inbuf(inbuf, n, n_slots, p, slot) + i;
            input[p] = (scalar)snn_from_fixed(*b);
            *b = 0;
        }
        // a model without a refractory period never changes its counter
        // from 0: no load and store per neuron and step
        int32_t r = M::has_refractory ? refrac[i] : 0;
        if (M::step(state, n, i, c, input, r, ctx)) {
            int32_t k = SNN_ATOMIC_ADD_I32(n_spikes, 1);
            spikes[k] = (int32_t)i;
            snn_record_spike(rec_bits, rec_info, ctx.step, i);
        }
        if (M::has_refractory) refrac[i] = r;
    }
}
