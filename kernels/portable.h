// portable.h: the CPU/GPU portability layer of the snnlab kernel dialect.
//
// Every kernel in kernels/ is written once against these macros.  The `cuda`
// target compiles it with NVRTC (or nvcc) and launches a grid; the `cpu` target
// compiles the same file as C++ with OpenMP and calls it from inside one
// `omp parallel` region, so a grid-stride loop becomes each thread's static
// share of the same flat index.  Kernels never rely on grid-wide
// synchronisation: a kernel boundary is the only barrier, on both targets.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SNN_CUDA 1
#if defined(__CUDACC_RTC__)
typedef signed char int8_t;
typedef unsigned char uint8_t;
typedef short int16_t;
typedef unsigned short uint16_t;
typedef int int32_t;
typedef unsigned int uint32_t;
typedef long long int64_t;
typedef unsigned long long uint64_t;
#else
#include <stdint.h>
#endif
#define SNN_KERNEL extern "C" __global__
#define SNN_DEVICE __device__
#define SNN_INLINE __forceinline__
#define SNN_TABLE __device__ const  // a constant table in device memory
#define SNN_RESTRICT __restrict__
// flat grid-stride loop over [0, n)
#define SNN_LOOP(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n); \
         i += (int64_t)blockDim.x * gridDim.x)
// two-level loop: blocks over the outer index, threads of a block over the inner
#define SNN_LOOP_OUTER(i, n) for (int64_t i = blockIdx.x; i < (int64_t)(n); i += gridDim.x)
#define SNN_LOOP_INNER(j, n) for (int64_t j = threadIdx.x; j < (int64_t)(n); j += blockDim.x)
#define SNN_SIMD  // (a CPU loop hint: nothing to say on the GPU)
// a block executed once per launch
#define SNN_SERIAL if (blockIdx.x == 0 && threadIdx.x == 0)
#define SNN_ATOMIC_ADD_I32(p, v) atomicAdd((int *)(p), (int)(v))
#define SNN_ATOMIC_ADD_I64(p, v) \
    atomicAdd((unsigned long long *)(p), (unsigned long long)(v))
#define SNN_ATOMIC_OR_U32(p, v) atomicOr((unsigned int *)(p), (unsigned int)(v))
#define SNN_ATOMIC_STORE_I64(p, v) \
    atomicExch((unsigned long long *)(p), (unsigned long long)(v))
// Rows of the ragged matrix (propagate.cu): blocks take rows, the threads of
// a block share each row; targets are shared by all threads, so the add is
// atomic.
#define SNN_FOR_ROWS(s, n) SNN_LOOP_OUTER(s, n)
// (the CPU's partition has no use here: every block adds to any target; the
// bounds are all targets, tested in the condition so that a kernel that
// never reads them compiles without a warning)
#define SNN_FOR_ROWS_OWN(s, n, n_post, own)                                           \
    for (int64_t snn_rows_lo = ((void)(own), 0), snn_rows_hi = (int64_t)(n_post),       \
                 s = blockIdx.x; s < (int64_t)(n) && snn_rows_lo < snn_rows_hi; s += gridDim.x)
// (the CPU's split table has no use here)
#define SNN_ROW_SEGMENT_AT(j, row, len, n_post, bounds) \
    for (int64_t j = ((void)(bounds), (int64_t)threadIdx.x); j < (int64_t)(len); j += blockDim.x)
// A row in blocks [jb, je) of at most SNN_ROW_BLOCK places, for kernels that
// work in passes over a block: here each thread a place at a time.
#define SNN_ROW_BLOCK 1
#define SNN_ROW_BLOCKS(jb, je, row, len, n_post) \
    for (int64_t jb = threadIdx.x, je = jb + 1; jb < (int64_t)(len); jb += blockDim.x, je = jb + 1)
#define SNN_ROWS_END
#define SNN_ACC_ADD(p, v) SNN_ATOMIC_ADD_I64(p, v)
#define SNN_ACC_FETCH_ADD(p, v) ((int64_t)SNN_ATOMIC_ADD_I64(p, v))
// Delivery queues (propagate.cu) are a CPU construct: never allocated here.
#define SNN_HAS_QUEUES 0
#define SNN_THREAD_ID 0
#define SNN_NUM_THREADS 1
template <class T>
__device__ __forceinline__ void snn_prefetch_row(const T *, int64_t, int64_t, int64_t, int64_t) {}
#define SNN_DOUBLE_BITS(x) ((uint64_t)__double_as_longlong(x))
#define SNN_BITS_DOUBLE(u) __longlong_as_double((long long)(u))
#define SNN_FLOAT_BITS(x) ((uint32_t)__float_as_uint(x))
#define SNN_BITS_FLOAT(u) __uint_as_float((unsigned int)(u))

#else  // CPU: C++ compiled with -ffp-contract=off, OpenMP when available
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#define SNN_THREAD_ID omp_get_thread_num()
#define SNN_NUM_THREADS omp_get_num_threads()
#else
#define SNN_THREAD_ID 0
#define SNN_NUM_THREADS 1
#endif
#define SNN_KERNEL_DEFINED extern "C" __attribute__((visibility("default")))
#ifdef SNN_KERNELS_LINKED
// A network's own library (snnlab/backend/cpu.py) links the kernels of
// kernels/, compiled once into a library of their own: here each of them is
// a template never instantiated, parsed but not compiled (the kernels took
// nine tenths of a network's compile time), and every call goes to the
// library's extern "C" declaration, which a network's unit gives after these
// files (a function is preferred to a template of the same signature).
#define SNN_KERNEL template <int snn_in_kernels_library = 0> inline
#else
#define SNN_KERNEL SNN_KERNEL_DEFINED
#endif
#define SNN_DEVICE inline
#define SNN_INLINE __attribute__((always_inline))
#define SNN_TABLE static const
#define SNN_RESTRICT __restrict__
// Loops end without a barrier: the caller places it, the driver after every
// kernel (codegen.cpu_driver), a host call at the end of its parallel
// region.  The implicit barrier of an `omp for` makes libgomp wake the team
// with a futex call even in a team of one: two dozen system calls per step
// in a small network, more time than its kernels took.  SNN_LOOP is the
// static schedule, each thread a contiguous share (snn_share: the team asked
// once per loop, no division in a team of one).
#define SNN_LOOP(i, n)                                                                 \
    for (int64_t i##_k = SNN_NUM_THREADS, i##_t = SNN_THREAD_ID,                       \
                 i = snn_share((int64_t)(n), i##_t, i##_k),                            \
                 i##_end = snn_share((int64_t)(n), i##_t + 1, i##_k);                  \
         i < i##_end; ++i)
#define SNN_LOOP_OUTER(i, n) \
    _Pragma("omp for schedule(dynamic, 8) nowait") for (int64_t i = 0; i < (int64_t)(n); ++i)
#define SNN_LOOP_INNER(j, n) for (int64_t j = 0; j < (int64_t)(n); ++j)
// A barrier only where there are threads to wait for: libgomp's explicit
// barrier makes a futex call even in a team of one (8 per step in small
// networks, as much time as their kernels).
#define SNN_BARRIER if (SNN_NUM_THREADS > 1) { _Pragma("omp barrier") }
// The barrier first: a kernel may return early on some path (record_state),
// and no thread may change what another is still reading (the step counter).
// The one after the block is the caller's: the driver places it, and a host
// call ends its parallel region.
#define SNN_SERIAL SNN_BARRIER _Pragma("omp single nowait")
// a loop whose iterations are independent, to be vectorised (if-converting
// its branches); the compiler's own analysis gives up at the first branch
#ifdef _OPENMP
#define SNN_SIMD _Pragma("omp simd")
#else
#define SNN_SIMD
#endif
#define SNN_ATOMIC_ADD_I32(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define SNN_ATOMIC_ADD_I64(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define SNN_ATOMIC_OR_U32(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define SNN_ATOMIC_STORE_I64(p, v) __atomic_store_n((p), (int64_t)(v), __ATOMIC_RELAXED)
// Rows of the ragged matrix on the CPU: every thread walks every row but
// owns a contiguous range of targets, found by binary search in the row
// (rows are ordered by target).  No two threads touch one target, so the add
// needs no atomic and no private copies.  The team is asked once per row
// loop (snn_rows_t, snn_rows_k), not in every row.
#define SNN_FOR_ROWS(s, n) \
    for (int64_t snn_rows_k = SNN_NUM_THREADS, snn_rows_t = SNN_THREAD_ID, s = 0; \
         s < (int64_t)(n); ++s)
// The same where a thread owns the targets its population's partition gives
// it (`own`, snn_own): [snn_rows_lo, snn_rows_hi).  A thread that owns none
// of the targets walks no row at all (a small population owned whole by
// another thread).
#define SNN_FOR_ROWS_OWN(s, n, n_post, own)                                                  \
    for (int64_t snn_rows_k = SNN_NUM_THREADS, snn_rows_t = SNN_THREAD_ID,                   \
                 snn_rows_lo = snn_own(own, n_post, snn_rows_t, snn_rows_k),                 \
                 snn_rows_hi = snn_own(own, n_post, snn_rows_t + 1, snn_rows_k),             \
                 s = snn_rows_lo < snn_rows_hi ? 0 : (int64_t)(n);                            \
         s < (int64_t)(n); ++s)
// The thread's owned targets of a row (in SNN_FOR_ROWS_OWN) with the row's
// k - 1 inner bounds between threads given (`bounds`, from the projection's
// split table: kernels/propagate.cu, row_splits), or searched for where
// `bounds` is null.  A search costs each thread ~170 ns a row in Brunel at 2
// threads (cache lines not yet fetched), as much as its share of a row of
// 500 targets.
#define SNN_ROW_SEGMENT_AT(j, row, len, n_post, bounds)                                      \
    _Pragma("GCC unroll 4")                                                                  \
    for (int64_t j = snn_row_bound(row, len, n_post, snn_rows_lo, snn_rows_t, bounds),       \
                 j##_end = snn_row_bound(row, len, n_post, snn_rows_hi, snn_rows_t + 1, bounds); \
         j < j##_end; ++j)
// A thread's targets of a row in blocks [jb, je) of at most SNN_ROW_BLOCK
// places, for kernels that work in passes over a block (plasticity.cu).
#ifndef SNN_ROW_BLOCK
#define SNN_ROW_BLOCK 256
#endif
#define SNN_ROW_BLOCKS(jb, je, row, len, n_post)                                             \
    for (int64_t jb = snn_row_split(row, len, n_post, snn_rows_t, snn_rows_k),               \
                 jb##_end = snn_row_split(row, len, n_post, snn_rows_t + 1, snn_rows_k),     \
                 je = jb + SNN_ROW_BLOCK < jb##_end ? jb + SNN_ROW_BLOCK : jb##_end;         \
         jb < jb##_end;                                                                      \
         jb = je, je = je + SNN_ROW_BLOCK < jb##_end ? je + SNN_ROW_BLOCK : jb##_end)
// The driver places the barrier after row kernels (codegen.cpu_driver): rows
// of different projections may run back to back, each thread in its own
// target range.
#define SNN_ROWS_END
#define SNN_ACC_ADD(p, v) (*(p) += (v))
#define SNN_ACC_FETCH_ADD(p, v) snn_fetch_add_owned(p, v)
#define SNN_HAS_QUEUES 1
SNN_DEVICE int64_t snn_fetch_add_owned(int64_t *p, int64_t v) { int64_t o = *p; *p = o + v; return o; }
SNN_DEVICE uint64_t snn_double_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
SNN_DEVICE double snn_bits_double(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }
SNN_DEVICE uint32_t snn_float_bits(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
SNN_DEVICE float snn_bits_float(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }
#define SNN_DOUBLE_BITS(x) snn_double_bits(x)
#define SNN_BITS_DOUBLE(u) snn_bits_double(u)
#define SNN_FLOAT_BITS(x) snn_float_bits(x)
#define SNN_BITS_FLOAT(u) snn_bits_float(u)
// AVX-512 where the build targets it (-march=native on such a CPU): a few
// hot loops (plasticity.cu) take explicit vectors with the same IEEE
// operations in the same order as their scalar form, so the bits are the
// same; the compiler's generic tuning would not gather on its own.
#if defined(__AVX512F__) && defined(__AVX512VL__) && !defined(SNN_NO_AVX512)
#include <immintrin.h>
#define SNN_AVX512 1
#endif
#endif

// Rows of the ragged matrix are ordered by target; on the CPU a thread owns
// a contiguous range of targets, and these find where it lies in a row
// (compiled for the GPU too, where no kernel calls them).
//
// Where thread t's share of [0, n) begins in a team of k.
SNN_DEVICE int64_t snn_share(int64_t n, int64_t t, int64_t k) {
    return k == 1 ? n * t : n * t / k;  // (no division in a team of one)
}
// Where thread t's neurons of a population begin in a team of k (t = k: n).
// A population's partition between the CPU threads is its table `own` =
// {k, b_0 = 0, b_1, ..., b_k = n} (snnlab/plan: thread_partition): the
// threads own contiguous ranges of the whole process's neurons, all
// populations in order, so a small population is mostly one thread's, not
// split k ways.  Every kernel that works on a population's own neurons
// (inputs, deliveries, updates, samples) or on its targets in rows
// (propagation) takes them from here, so that no two threads touch one
// neuron and no barrier is needed between them (STDP's rows keep the even
// split: a barrier separates them from propagation, plasticity.cu).  A null table, or one made
// for another team, is the even split.  Nothing a neuron computes depends on
// which thread computes it: the results are the same for any partition.
SNN_DEVICE int64_t snn_own(const int64_t *own, int64_t n, int64_t t, int64_t k) {
    if (k == 1) return n * t;  // (a team of one reads no table)
    return own && own[0] == k ? own[1 + t] : n * t / k;
}
template <class Ix>
SNN_DEVICE int64_t snn_lower_bound(const Ix *row, int64_t len, int64_t value) {
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        int64_t mid = (lo + hi) >> 1;
        if ((int64_t)row[mid] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
}
// Where a thread's targets begin in a row: the first entry >= value.
// Targets are spread evenly, so the search starts at the proportional guess
// and gallops outwards: a few cache lines instead of a binary search's dozen
// scattered ones (rows of thousands, microcircuit).  Rows of 32- or 16-bit
// targets (SNN_IX).
template <class Ix>
SNN_DEVICE int64_t snn_row_split_at(const Ix *row, int64_t len, int64_t n, int64_t value) {
    if (value <= 0 || len == 0) return 0;
    if (value >= n) return len;
    int64_t g = (int64_t)((double)len * (double)value / (double)n);
    g = g < len ? g : len - 1;
    int64_t lo, hi, step = 8;
    if ((int64_t)row[g] < value) {  // answer in (g, len]
        lo = g + 1;
        hi = lo + step;
        while (hi < len && (int64_t)row[hi] < value) { lo = hi + 1; step *= 2; hi = lo + step; }
        hi = hi < len ? hi : len;
    } else {  // answer in [0, g]
        hi = g;
        lo = hi - step;
        while (lo > 0 && (int64_t)row[lo] >= value) { hi = lo; step *= 2; lo = hi - step; }
        lo = lo > 0 ? lo : 0;
    }
    return lo + snn_lower_bound(row + lo, hi - lo, value);
}
// ... of thread t's even share (snn_share).
template <class Ix>
SNN_DEVICE int64_t snn_row_split(const Ix *row, int64_t len, int64_t n, int64_t t, int64_t k) {
    return snn_row_split_at(row, len, n, snn_share(n, t, k));
}
// Where thread t begins in a row, its first target being `value` (snn_own):
// 0, len, the row's inner bounds between threads where given (bounds[t - 1],
// made for the same partition), or a search.
template <class Ix>
SNN_DEVICE SNN_INLINE int64_t snn_row_bound(const Ix *row, int64_t len, int64_t n,
                                            int64_t value, int64_t t, const int32_t *bounds) {
    if (value <= 0) return 0;
    if (value >= n) return len;
    return bounds ? bounds[t - 1] : snn_row_split_at(row, len, n, value);
}

#ifndef SNN_CUDA
// Ask for this thread's share of a row that will be walked next, up to 48
// cache lines: rows live in main memory, and the hardware prefetcher only
// catches up after a few lines (Brunel, N = 12 500: propagation -25 % with
// the first 16 lines; the whole share, 20 to 40 lines, took a further
// ~20 %, where lines beyond the share cost time).
// `lines` cache lines from p on, at most `most`, asked for into the caches
// down to level Hint (3: the first, __builtin_prefetch's default; 2: the second).
template <int Hint>
SNN_DEVICE SNN_INLINE void snn_prefetch_lines(const void *p, int64_t lines, int64_t most) {
    for (int64_t c = 0; c < (lines < most ? lines : most); ++c)
        __builtin_prefetch((const char *)p + 64 * c, 0, Hint);
}
// Where target `value` of n lies in a row of len, by position (targets are
// spread evenly over a row): a guess that needs no read of the row.
SNN_DEVICE int64_t snn_row_guess(int64_t len, int64_t value, int64_t n) {
    return value <= 0 ? 0 : value >= n ? len : len * value / n;
}
// A thread that owns targets [lo, hi) of n asks for that part of the row.
template <class T>
SNN_DEVICE void snn_prefetch_row(const T *row, int64_t len, int64_t lo, int64_t hi, int64_t n) {
    const int64_t b = snn_row_guess(len, lo, n), e = snn_row_guess(len, hi, n);
    snn_prefetch_lines<3>(row + b, (e - b) * (int64_t)sizeof(T) / 64 + 1, 48);
}
#endif

// Synaptic input is accumulated in 64-bit fixed point with 32 fractional bits:
// integer addition is associative, so delivery order cannot change a result.
#define SNN_FIXED_ONE 4294967296.0
SNN_DEVICE SNN_INLINE int64_t snn_to_fixed(double x) { return (int64_t)llrint(x * SNN_FIXED_ONE); }
SNN_DEVICE SNN_INLINE double snn_from_fixed(int64_t x) { return (double)x * (1.0 / SNN_FIXED_ONE); }

#ifndef SNN_SCALAR
#define SNN_SCALAR float
#endif
typedef SNN_SCALAR scalar;
