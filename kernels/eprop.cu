// eprop: e-prop training of recurrent spiking classifiers (snnlab/learning,
// Bellec et al. 2020), batched: every per-neuron array is [instance][neuron],
// every per-synapse trace [synapse][instance]; connectivity and weights are
// shared.  Rows are by source (the ragged matrix of the core: row_length,
// ind, a padded capacity), so a synapse that is not stored costs nothing.
//
// One step t of a trial, in this order (snnlab/learning/eprop.py):
//   eprop_input_trace   xbar = alpha xbar + x(t)                    (inputs)
//   eprop_current       I = W_in x(t) + W_rec z(t-1)   (64-bit fixed point)
//   eprop_hidden        v, a, z(t), the pseudo-derivative psi(t), zhat
//   eprop_readout       y(t), softmax, err(t) = pi - onehot in the window
//   eprop_signal        L(t) = B err(t)   (B: feedback, hidden x outputs)
//   eprop_transpose     psi(t) laid out for eprop_grad
//   eprop_grad          per synapse ebar = kappa ebar + e(t), g += L ebar
//                       (inputs with xbar(t), recurrent with zbar(t-1))
//   eprop_out_grad      g_out += err zhat, g_b += err
//   eprop_spike_trace   zbar = alpha zbar + z(t)                    (hidden)
// Each instance's sums run in one thread in a fixed order and the gradient of
// a synapse is summed over instances in instance order, so the results do not
// depend on the thread count.
#include "common.h"

// What eprop_grad reads per source and per target is laid out [neuron][instance]
// (xbar, zbar, psi_t, L: an instance's values of one neuron side by side), and
// the readout's error [output][instance]; the rest [instance][neuron].

// q / n by a multiplication (an integer division per element cost more than
// the elementwise kernels' own work on the CPU), corrected to be exact.
SNN_DEVICE SNN_INLINE int64_t snn_eprop_div(int64_t q, int64_t n, double inv) {
    int64_t d = (int64_t)((double)q * inv);
    d -= d * n > q;
    d += (d + 1) * n <= q;
    return d;
}

// From [instance][neuron] to [neuron][instance] in tiles of 8 x 8, each
// line of either side read or written whole while it is in the cache (one
// element at a time, every store lands in another line: twice the time of
// the hidden neurons' whole update): dst = src^T, or with ACC dst = alpha
// old + src^T (old: dst itself, or the other of two buffers).  Tile p:
// neurons 8 (p / nb).., instances 8 (p % nb).., nb = ceil(B / 8) tiles of
// instances.
template <bool ACC, class T>
SNN_DEVICE SNN_INLINE void snn_eprop_tiles(const int64_t B, const int64_t N, const T *src,
                                           const double alpha, const double *old, double *dst) {
    const int64_t nb = (B + 7) / 8;
    SNN_LOOP(p, nb * ((N + 7) / 8)) {
        const int64_t jt = snn_eprop_div(p, nb, 1.0 / (double)nb);
        const int64_t j0 = 8 * jt, b0 = 8 * (p - jt * nb);
        const int64_t j1 = j0 + 8 < N ? j0 + 8 : N, b1 = b0 + 8 < B ? b0 + 8 : B;
        for (int64_t j = j0; j < j1; ++j)
            for (int64_t b = b0; b < b1; ++b)
                dst[j * B + b] = ACC ? alpha * old[j * B + b] + (double)src[b * N + j]
                                     : (double)src[b * N + j];
    }
}

// Input spikes of step t: instance b's are ids[off[b] .. off[b + 1]).
SNN_DEVICE SNN_INLINE void snn_eprop_input_one(const int64_t b, const int64_t B, const int64_t M,
                                               const int32_t *off, const int32_t *ids,
                                               const double alpha, double *xbar) {
    for (int64_t i = 0; i < M; ++i) xbar[i * B + b] *= alpha;
    for (int32_t s = off[b]; s < off[b + 1]; ++s) xbar[(int64_t)ids[s] * B + b] += 1.0;
}
SNN_KERNEL void eprop_input_trace(const int64_t B, const int64_t M, const int32_t *off,
                                  const int32_t *ids, const double alpha, double *xbar) {
    SNN_LOOP(b, B) snn_eprop_input_one(b, B, M, off, ids, alpha, xbar);
}

// The hidden neurons' spike trace zbar = alpha zbar + z (zbar [neuron][instance]).
SNN_KERNEL void eprop_spike_trace(const int64_t B, const int64_t N, const uint8_t *z,
                                  const double alpha, double *zbar) {
    snn_eprop_tiles<true>(B, N, z, alpha, zbar, zbar);
}

// The input current of every hidden neuron in instance b: the step's input
// spikes through the input rows, the hidden spikes of the step before
// through the recurrent rows.  One instance per thread: no atomics, the
// same sums in any team.
SNN_DEVICE SNN_INLINE void snn_eprop_current_one(const int64_t b, const int64_t N,
                                                 const int32_t *off, const int32_t *ids,
                                                 const int32_t *in_len, const int32_t *in_ind,
                                                 const float *in_w, const int64_t in_cap,
                                                 const uint8_t *z, const int32_t *rec_len,
                                                 const int32_t *rec_ind, const float *rec_w,
                                                 const int64_t rec_cap, int64_t *cur) {
    int64_t *c = cur + b * N;
    for (int64_t j = 0; j < N; ++j) c[j] = 0;
    for (int32_t s = off[b]; s < off[b + 1]; ++s) {
        const int64_t i = ids[s], base = i * in_cap;
        for (int64_t k = 0; k < in_len[i]; ++k)
            c[in_ind[base + k]] += snn_to_fixed((double)in_w[base + k]);
    }
    const uint8_t *zb = z + b * N;
    for (int64_t i = 0; i < N; ++i) {
        if (!zb[i]) continue;
        const int64_t base = i * rec_cap;
        for (int64_t k = 0; k < rec_len[i]; ++k)
            c[rec_ind[base + k]] += snn_to_fixed((double)rec_w[base + k]);
    }
}
SNN_KERNEL void eprop_current(const int64_t B, const int64_t N, const int32_t *off,
                              const int32_t *ids, const int32_t *in_len, const int32_t *in_ind,
                              const float *in_w, const int64_t in_cap, const uint8_t *z,
                              const int32_t *rec_len, const int32_t *rec_ind, const float *rec_w,
                              const int64_t rec_cap, int64_t *cur) {
    SNN_LOOP(b, B)
        snn_eprop_current_one(b, N, off, ids, in_len, in_ind, in_w, in_cap, z, rec_len, rec_ind,
                              rec_w, rec_cap, cur);
}

// The hidden neurons (LIF, or ALIF with beta > 0), p = {alpha, v_th, rho,
// beta, gamma, n_ref, kappa}:
//   v(t) = alpha v(t-1) + I(t) - v_th z(t-1)          (reset by subtraction)
//   a(t) = rho a(t-1) + z(t-1),  A(t) = v_th + beta a(t)
//   z(t) = [v(t) >= A(t)] outside the refractory steps
//   psi(t) = gamma / v_th max(0, 1 - |v(t) - A(t)| / v_th), 0 when refractory
// n_ref steps after a spike are refractory; zhat = kappa zhat + z; count
// adds up each neuron's spikes in the trial.  Every array here is
// [instance][neuron], psi included (eprop_transpose lays it out for
// eprop_grad): one pass over contiguous memory (writing psi [neuron][instance]
// here, a store every 8 B apart in a different line, cost twice this kernel).
// On the CPU in runs of 64 elements, each run a vectorised loop (the
// compiler left the branches of a plain loop scalar: a third of the time).
#if defined(SNN_CUDA)
#define SNN_EPROP_RUN 1
#else
#define SNN_EPROP_RUN 64
#endif
struct snn_eprop_neuron {
    double alpha, v_th, rho, beta, gamma, kappa;
    int32_t n_ref;
};
SNN_DEVICE SNN_INLINE void snn_eprop_hidden_one(const int64_t q, const snn_eprop_neuron h,
                                                const int64_t *cur, double *v, double *a,
                                                int32_t *refrac, uint8_t *z, double *psi,
                                                double *zhat, int32_t *count) {
    const double zp = (double)z[q];
    const double vq = h.alpha * v[q] + snn_from_fixed(cur[q]) - h.v_th * zp;
    const double aq = h.rho * a[q] + zp;
    const double A = h.v_th + h.beta * aq;
    const int32_t r = refrac[q];
    const bool spike = r == 0 && vq >= A;
    const double d = 1.0 - fabs((vq - A) / h.v_th);
    psi[q] = r > 0 || d <= 0.0 ? 0.0 : h.gamma / h.v_th * d;
    refrac[q] = spike ? h.n_ref : (r > 0 ? r - 1 : 0);
    v[q] = vq;
    a[q] = aq;
    z[q] = (uint8_t)spike;
    zhat[q] = h.kappa * zhat[q] + (spike ? 1.0 : 0.0);
    count[q] += spike ? 1 : 0;
}
SNN_DEVICE SNN_INLINE snn_eprop_neuron snn_eprop_params(const double *p) {
    snn_eprop_neuron h;
    h.alpha = p[0], h.v_th = p[1], h.rho = p[2], h.beta = p[3], h.gamma = p[4];
    h.n_ref = (int32_t)p[5], h.kappa = p[6];
    return h;
}
SNN_DEVICE SNN_INLINE void snn_eprop_hidden(const int64_t B, const int64_t N, const double *p,
                                            const int64_t *cur, double *v, double *a,
                                            int32_t *refrac, uint8_t *z, double *psi, double *zhat,
                                            int32_t *count) {
    const snn_eprop_neuron h = snn_eprop_params(p);
    const int64_t n = B * N;
    SNN_LOOP(run, (n + SNN_EPROP_RUN - 1) / SNN_EPROP_RUN) {
        const int64_t q0 = run * SNN_EPROP_RUN;
        const int64_t q1 = q0 + SNN_EPROP_RUN < n ? q0 + SNN_EPROP_RUN : n;
        SNN_SIMD
        for (int64_t q = q0; q < q1; ++q)
            snn_eprop_hidden_one(q, h, cur, v, a, refrac, z, psi, zhat, count);
    }
}
SNN_KERNEL void eprop_hidden(const int64_t B, const int64_t N, const double *p, const int64_t *cur,
                             double *v, double *a, int32_t *refrac, uint8_t *z, double *psi,
                             double *zhat, int32_t *count) {
    snn_eprop_hidden(B, N, p, cur, v, a, refrac, z, psi, zhat, count);
}

// psi_t = psi^T ([neuron][instance], what eprop_grad reads).
SNN_DEVICE SNN_INLINE void snn_eprop_transpose(const int64_t B, const int64_t N, const double *psi,
                                               double *psi_t) {
    snn_eprop_tiles<false>(B, N, psi, 0.0, psi_t, psi_t);
}
SNN_KERNEL void eprop_transpose(const int64_t B, const int64_t N, const double *psi,
                                double *psi_t) {
    snn_eprop_transpose(B, N, psi, psi_t);
}

// Instance b's leaky readout y(t) = kappa y(t-1) + W_out z(t) + b and, in
// the response window, the softmax error and cross-entropy: err = pi -
// onehot (0 outside the window), loss += -log pi[label], ysum += y.
SNN_DEVICE SNN_INLINE void snn_eprop_readout_one(const int64_t b, const int64_t B, const int64_t N,
                                                 const int64_t K, const uint8_t *z,
                                                 const float *w_out, const float *b_out,
                                                 const double kappa, const int32_t *label,
                                                 const int32_t window, double *y, double *err,
                                                 double *loss, double *ysum) {
    double *yb = y + b * K, *eb = err + b;  // (err: [output][instance])
    const uint8_t *zb = z + b * N;
    for (int64_t k = 0; k < K; ++k) eb[k * B] = 0.0;  // (err holds the sums for now)
    for (int64_t j = 0; j < N; ++j) {  // each sum over the spiking j in order
        if (!zb[j]) continue;
        for (int64_t k = 0; k < K; ++k) eb[k * B] += (double)w_out[k * N + j];
    }
    double m = 0.0;
    for (int64_t k = 0; k < K; ++k) {
        yb[k] = kappa * yb[k] + eb[k * B] + (double)b_out[k];
        m = k == 0 || yb[k] > m ? yb[k] : m;
    }
    if (!window) {
        for (int64_t k = 0; k < K; ++k) eb[k * B] = 0.0;
        return;
    }
    double total = 0.0;
    for (int64_t k = 0; k < K; ++k) {
        eb[k * B] = snn_exp(yb[k] - m);
        total += eb[k * B];
    }
    for (int64_t k = 0; k < K; ++k) {
        const double pi = eb[k * B] / total;
        eb[k * B] = pi - (k == label[b] ? 1.0 : 0.0);
        ysum[b * K + k] += yb[k];
    }
    loss[b] += -snn_log(snn_exp(yb[label[b]] - m) / total);
}
SNN_KERNEL void eprop_readout(const int64_t B, const int64_t N, const int64_t K, const uint8_t *z,
                              const float *w_out, const float *b_out, const double kappa,
                              const int32_t *label, const int32_t window, double *y, double *err,
                              double *loss, double *ysum) {
    SNN_LOOP(b, B)
        snn_eprop_readout_one(b, B, N, K, z, w_out, b_out, kappa, label, window, y, err, loss,
                              ysum);
}

// The learning signal of each hidden neuron: L = sum_k fb[j][k] err[k].
SNN_DEVICE SNN_INLINE void snn_eprop_signal(const int64_t B, const int64_t N, const int64_t K,
                                            const double *err, const float *fb, double *L) {
    SNN_LOOP(j, N) {  // each instance's sum over the outputs in order, side by side
        double *Lj = L + j * B;
        for (int64_t b = 0; b < B; ++b) Lj[b] = 0.0;
        for (int64_t k = 0; k < K; ++k) {
            const double f = (double)fb[j * K + k];
            const double *ek = err + k * B;
            for (int64_t b = 0; b < B; ++b) Lj[b] += f * ek[b];
        }
    }
}
SNN_KERNEL void eprop_signal(const int64_t B, const int64_t N, const int64_t K, const double *err,
                             const float *fb, double *L) {
    snn_eprop_signal(B, N, K, err, fb, L);
}

// The eligibility of every stored synapse i -> j of a projection onto the
// hidden layer, in every instance, and its gradient summed over instances:
//   LIF:  e = psi_j x_i
//   ALIF: e = psi_j (x_i - beta eps), then eps = psi_j x_i + (rho - psi_j beta) eps
//   ebar = kappa ebar + e,  g += sum_b (L_j ebar + R_j e)
// with x_i the source's trace (inputs: xbar(t); recurrent: zbar(t-1)) and
// R_j the firing-rate regulariser's factor of neuron j (0 without).  The sum
// over instances runs in 8 lanes (instance b in lane b % 8), added in a
// fixed tree at the end: no chain of dependent additions, and the same
// result on every target and thread count.
template <bool ALIF>
SNN_DEVICE SNN_INLINE void snn_eprop_lanes(const int64_t b0, const int64_t nb, const double *xi,
                                           const double *ps, const double *Lj, const double rj,
                                           const double kappa, const double beta, const double rho,
                                           float *eb, float *ea, double *acc) {
    for (int64_t l = 0; l < nb; ++l) {
        const int64_t b = b0 + l;
        double e;
        if (ALIF) {
            const double a0 = (double)ea[b];
            e = ps[b] * (xi[b] - beta * a0);
            ea[b] = (float)(ps[b] * xi[b] + (rho - ps[b] * beta) * a0);
        } else {
            e = ps[b] * xi[b];
        }
        const double v = kappa * (double)eb[b] + e;
        eb[b] = (float)v;
        acc[l] += Lj[b] * v + rj * e;
    }
}

template <bool ALIF>
SNN_DEVICE void snn_eprop_grad(const int64_t B, const int64_t n_pre, const int32_t *len,
                               const int32_t *ind, const int64_t cap, const double *x,
                               const double *psi, const double *L, const double *R,
                               const double *p, float *ebar, float *eps, double *g) {
    const double kappa = p[0], beta = p[1], rho = p[2];
    SNN_LOOP(i, n_pre) {
        const double *xi = x + i * B;
        for (int64_t k = 0; k < len[i]; ++k) {
            const int64_t s = i * cap + k, j = ind[s];
            const double *ps = psi + j * B, *Lj = L + j * B;
            const double rj = R ? R[j] : 0.0;
            float *eb = ebar + s * B, *ea = ALIF ? eps + s * B : 0;
            double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
            int64_t b0 = 0;
            for (; b0 + 8 <= B; b0 += 8)
                snn_eprop_lanes<ALIF>(b0, 8, xi, ps, Lj, rj, kappa, beta, rho, eb, ea, acc);
            if (b0 < B)
                snn_eprop_lanes<ALIF>(b0, B - b0, xi, ps, Lj, rj, kappa, beta, rho, eb, ea, acc);
            g[s] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                    ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        }
    }
}

SNN_KERNEL void eprop_grad(const int64_t B, const int64_t n_pre, const int32_t *len,
                           const int32_t *ind, const int64_t cap, const double *x,
                           const double *psi, const double *L, const double *R, const double *p,
                           float *ebar, float *eps, double *g) {
    if (eps) snn_eprop_grad<true>(B, n_pre, len, ind, cap, x, psi, L, R, p, ebar, eps, g);
    else snn_eprop_grad<false>(B, n_pre, len, ind, cap, x, psi, L, R, p, ebar, eps, g);
}

// The readout's gradients: g_out[k][j] += sum_b err[b][k] zhat[b][j],
// g_b[k] += sum_b err[b][k].
SNN_DEVICE SNN_INLINE void snn_eprop_out_grad(const int64_t B, const int64_t N, const int64_t K,
                                              const double *err, const double *zhat, double *g_out,
                                              double *g_b) {  // (zhat: [instance][neuron])
    // in pieces of 64 neurons of one output: instance by instance, each
    // weight's sum in instance order, the neurons side by side
    const int64_t pieces = (N + 63) / 64;
    SNN_LOOP(q, K * pieces) {
        const int64_t k = snn_eprop_div(q, pieces, 1.0 / (double)pieces);
        const int64_t j0 = (q - k * pieces) * 64;
        const int64_t j1 = j0 + 64 < N ? j0 + 64 : N;
        double *gk = g_out + k * N;
        for (int64_t b = 0; b < B; ++b) {
            const double e = err[k * B + b];
            const double *zb = zhat + b * N;
            for (int64_t j = j0; j < j1; ++j) gk[j] += e * zb[j];
        }
    }
    SNN_LOOP(k, K) {
        double s = g_b[k];
        for (int64_t b = 0; b < B; ++b) s += err[k * B + b];
        g_b[k] = s;
    }
}
SNN_KERNEL void eprop_out_grad(const int64_t B, const int64_t N, const int64_t K, const double *err,
                               const double *zhat, double *g_out, double *g_b) {
    snn_eprop_out_grad(B, N, K, err, zhat, g_out, g_b);
}

// A whole trial on the CPU in one call, three phases a step with a barrier
// after each (the Python loop of launches costs more than a small network's
// work; a barrier after every kernel, six a step, cost a sparse network a
// fifth of its time at 2 threads):
//   forward   each instance on one thread (a share of the instances, the
//             same every step): input trace, current, hidden neurons, readout
//   traces    eprop_signal, eprop_transpose, eprop_out_grad, and the hidden
//             spike trace zbar(t) into the other of two buffers (zbar, zbar2)
//   gradient  eprop_grad of both projections, reading zbar(t-1)
// Without learning, each instance's steps touch its own state alone: no
// barrier.  The GPU launches the kernels step by step (a barrier across its
// grid is not at hand).  off: [steps][B + 1]; learn = 0: the forward pass
// alone; window: the first step of the loss's window; timer[0] and [1] gain
// the seconds of the forward pass and of learning (thread 0's clock, at the
// barriers).
#if !defined(SNN_CUDA)
#include <time.h>
static double snn_eprop_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

SNN_KERNEL void eprop_trial(const int64_t B, const int64_t M, const int64_t N, const int64_t K,
                            const int64_t steps, const int64_t window, const int32_t learn,
                            const int32_t *off, const int32_t *ids, const int32_t *in_len,
                            const int32_t *in_ind, const float *in_w, const int64_t in_cap,
                            const int32_t *rec_len, const int32_t *rec_ind, const float *rec_w,
                            const int64_t rec_cap, const double *p_hidden, const float *w_out,
                            const float *b_out, const double kappa, const int32_t *label,
                            const float *fb, const double *R, const double *p_grad,
                            const double alpha, double *xbar, int64_t *cur, double *v, double *a,
                            int32_t *refrac, uint8_t *z, double *psi, double *psi_t,
                            double *zhat, int32_t *count, double *y, double *err, double *loss,
                            double *ysum, double *L, double *zbar, double *zbar2, float *ebar_in,
                            float *eps_in, double *g_in, float *ebar_rec, float *eps_rec,
                            double *g_rec, double *g_out, double *g_b, double *timer) {
    const snn_eprop_neuron h = snn_eprop_params(p_hidden);
    const bool clock = SNN_THREAD_ID == 0;
    double t0 = clock ? snn_eprop_clock() : 0.0;
    for (int64_t t = 0; t < steps; ++t) {
        const int32_t *o = off + t * (B + 1);
        const int32_t in_window = t >= window;
        SNN_LOOP(b, B) {
            if (learn) snn_eprop_input_one(b, B, M, o, ids, alpha, xbar);
            snn_eprop_current_one(b, N, o, ids, in_len, in_ind, in_w, in_cap, z, rec_len, rec_ind,
                                  rec_w, rec_cap, cur);
            SNN_SIMD
            for (int64_t q = b * N; q < (b + 1) * N; ++q)
                snn_eprop_hidden_one(q, h, cur, v, a, refrac, z, psi, zhat, count);
            snn_eprop_readout_one(b, B, N, K, z, w_out, b_out, kappa, label, in_window, y, err,
                                  loss, ysum);
        }
        if (!learn) continue;
        SNN_BARRIER
        if (clock) {
            const double t1 = snn_eprop_clock();
            timer[0] += t1 - t0;
            t0 = t1;
        }
        double *zb_old = t % 2 ? zbar2 : zbar, *zb_new = t % 2 ? zbar : zbar2;
        if (in_window) snn_eprop_signal(B, N, K, err, fb, L);
        snn_eprop_transpose(B, N, psi, psi_t);
        if (in_window) snn_eprop_out_grad(B, N, K, err, zhat, g_out, g_b);
        snn_eprop_tiles<true>(B, N, z, alpha, zb_old, zb_new);
        SNN_BARRIER
        if (eps_in) {
            snn_eprop_grad<true>(B, M, in_len, in_ind, in_cap, xbar, psi_t, L, R, p_grad,
                                 ebar_in, eps_in, g_in);
            snn_eprop_grad<true>(B, N, rec_len, rec_ind, rec_cap, zb_old, psi_t, L, R, p_grad,
                                 ebar_rec, eps_rec, g_rec);
        } else {
            snn_eprop_grad<false>(B, M, in_len, in_ind, in_cap, xbar, psi_t, L, R, p_grad,
                                  ebar_in, eps_in, g_in);
            snn_eprop_grad<false>(B, N, rec_len, rec_ind, rec_cap, zb_old, psi_t, L, R, p_grad,
                                  ebar_rec, eps_rec, g_rec);
        }
        SNN_BARRIER
        if (clock) {
            const double t1 = snn_eprop_clock();
            timer[1] += t1 - t0;
            t0 = t1;
        }
    }
    if (!learn) {
        SNN_BARRIER
        if (clock) timer[0] += snn_eprop_clock() - t0;
    }
}
#endif

// Adam on the parameters of n rows of cap places (len: each row's stored
// ones; null: every place) with gradients g (then zeroed), moments m and v:
// p = {lr, beta1, beta2, eps, 1 - beta1^t, 1 - beta2^t, l1}; l1 adds
// l1 sign(w) to the gradient (DEEP R's term; 0: none).
SNN_KERNEL void eprop_adam(const int64_t n, const int32_t *len, const int64_t cap, const double *p,
                           float *w, double *g, float *m, float *v) {
    const double lr = p[0], b1 = p[1], b2 = p[2], eps = p[3], c1 = p[4], c2 = p[5], l1 = p[6];
    SNN_LOOP(i, n) {
        const int64_t end = len ? len[i] : cap;
        for (int64_t q = i * cap; q < i * cap + end; ++q) {
            const double wq = (double)w[q];
            const double gq = g[q] + (wq > 0.0 ? l1 : (wq < 0.0 ? -l1 : 0.0));
            const double mq = b1 * (double)m[q] + (1.0 - b1) * gq;
            const double vq = b2 * (double)v[q] + (1.0 - b2) * gq * gq;
            m[q] = (float)mq;
            v[q] = (float)vq;
            w[q] = (float)(wq - lr * (mq / c1) / (sqrt(vq / c2) + eps));
            g[q] = 0.0;
        }
    }
}

// The fixed sign of the potential synapse i -> j under DEEP R: one random
// bit of (seed, stream, entity i, counter j), for stored and absent pairs alike.
SNN_DEVICE SNN_INLINE double snn_deep_r_sign(uint64_t seed, uint32_t stream, int64_t i,
                                             int64_t j) {
    return (snn_random4(seed, stream, (uint32_t)i, (uint64_t)j).x & 1u) ? 1.0 : -1.0;
}

// DEEP R after an optimiser step (call c), row by row: with a temperature
// (Bellec et al. 2018) each weight first moves by sign noise_sd N(0, 1)
// (noise_sd = sqrt(2 lr T)); a synapse whose weight has the wrong sign is
// dormant and leaves (its weight, moments and gradient move with the
// others); as many synapses are made at targets drawn uniformly among the
// row's absent ones (a pair that just left among them; not the source
// itself where no_self), in target order, at weight 0 with zeroed moments.
// Draws of row i in call c: target draw k from (seed, stream + 1, entity i,
// c 2^32 | k); noise from stream + 2.
// moved[0] or [1] (inputs, recurrent) gains the row's count in this call
// (integer atomics: the same total in any order).  sign holds each stored
// synapse's sign (snn_deep_r_sign, drawn when it is made) and moves with it.
// One row i of a projection (DEEP R, after an optimiser step).
SNN_DEVICE SNN_INLINE void snn_deep_r_row(const int64_t i, const int64_t n_post, int32_t *len,
                                          int32_t *ind, const int64_t cap, float *w, float *m,
                                          float *v, double *g, int8_t *sign, const uint64_t seed,
                                          const uint32_t stream, const int64_t call,
                                          const double noise_sd, const int32_t no_self,
                                          int32_t *moved) {
    const int64_t base = i * cap, n = len[i];
    int64_t kept = 0;
    for (int64_t k = 0; k < n; ++k) {
        const int64_t j = ind[base + k];
        const double s = (double)sign[base + k];  // (kept: drawn once per synapse)
        double wk = (double)w[base + k];
        if (noise_sd > 0.0)
            wk += s * noise_sd * snn_normal(seed, stream + 2, (uint32_t)i,
                                            ((uint64_t)call << 32) | (uint64_t)j);
        if (wk * s < 0.0) continue;  // dormant
        ind[base + kept] = (int32_t)j;
        sign[base + kept] = sign[base + k];
        w[base + kept] = (float)wk;
        m[base + kept] = m[base + k];
        v[base + kept] = v[base + k];
        g[base + kept] = g[base + k];
        ++kept;
    }
    const int64_t gone = n - kept;
    if (gone) SNN_ATOMIC_ADD_I32(moved, (int32_t)gone);
    int64_t room = n_post - (no_self && i < n_post ? 1 : 0) - kept;  // absent targets
    int64_t made = 0;
    for (uint64_t d = 0; made < gone && made < room && d < (1ull << 32); ++d) {
        const snn_u4 r = snn_random4(seed, stream + 1, (uint32_t)i,
                                     ((uint64_t)call << 32) | d);
        int64_t j = (int64_t)(snn_u01(r.x, r.y) * (double)n_post);
        j = j < n_post ? j : n_post - 1;
        if (no_self && j == i) continue;
        int64_t pos = kept + made;  // insert in target order, unless present
        bool present = false;
        for (int64_t q = 0; q < kept + made; ++q) {
            if (ind[base + q] == j) { present = true; break; }
            if (ind[base + q] > j) { pos = q; break; }
        }
        if (present) continue;
        for (int64_t q = kept + made; q > pos; --q) {
            ind[base + q] = ind[base + q - 1];
            sign[base + q] = sign[base + q - 1];
            w[base + q] = w[base + q - 1];
            m[base + q] = m[base + q - 1];
            v[base + q] = v[base + q - 1];
            g[base + q] = g[base + q - 1];
        }
        ind[base + pos] = (int32_t)j;
        sign[base + pos] = (int8_t)snn_deep_r_sign(seed, stream, i, j);
        w[base + pos] = 0.0f;
        m[base + pos] = 0.0f;
        v[base + pos] = 0.0f;
        g[base + pos] = 0.0;
        ++made;
    }
    len[i] = (int32_t)(kept + made);
}

// Both projections in one launch: rows [0, n_in) of the inputs', then the
// n_hidden recurrent rows; moved[0] and [1] gain the synapses moved in each.
SNN_KERNEL void eprop_deep_r(const int64_t n_in, const int64_t n_hidden, const uint64_t seed,
                             const int64_t call, const double noise_sd, int32_t *moved,
                             int32_t *len_in, int32_t *ind_in, const int64_t cap_in,
                             float *w_in, float *m_in, float *v_in, double *g_in,
                             int8_t *sign_in, const uint32_t stream_in, int32_t *len_rec,
                             int32_t *ind_rec, const int64_t cap_rec, float *w_rec,
                             float *m_rec, float *v_rec, double *g_rec, int8_t *sign_rec,
                             const uint32_t stream_rec) {
    SNN_LOOP(q, n_in + n_hidden) {
        if (q < n_in)
            snn_deep_r_row(q, n_hidden, len_in, ind_in, cap_in, w_in, m_in, v_in, g_in, sign_in,
                           seed, stream_in, call, noise_sd, 0, moved);
        else
            snn_deep_r_row(q - n_in, n_hidden, len_rec, ind_rec, cap_rec, w_rec, m_rec, v_rec,
                           g_rec, sign_rec, seed, stream_rec, call, noise_sd, 1, moved + 1);
    }
}
