/* Runs CUDA kernels on the host, one OS thread per CUDA thread, so that the CPU test suite
   can execute nabla's kernel source itself (tests/cuda_emu.py builds and calls it).

   What is emulated, and how:
   - a launch runs its blocks one after another; each block's threads are std::threads;
   - __syncthreads() is a barrier over the block's threads; a thread that returns drops out
     of it, as exited threads do on the GPU;
   - __shared__ variables are static: shared by the block's threads, and since blocks run
     one at a time, private to the block;
   - warp shuffles exchange through a per-warp buffer between two warp barriers, so every
     lane of the warp must take part (all of nabla's kernels shuffle with a full mask);
   - atomicAdd takes a global lock.
   Nothing here models timing, memory coalescing or bank conflicts: it checks what a kernel
   computes, not how fast. */
#pragma once
#include <math.h>
#include <string.h>

#include <algorithm>
#include <barrier>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

typedef _Float16 __half;

namespace nb_emu {
struct Block {
    std::barrier<> all;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<unsigned char> lanes;  /* 16 bytes per thread: the shuffle buffer */
    explicit Block(int threads) : all(threads), lanes(16 * threads) {
        for (int w = 0; w * 32 < threads; ++w) {
            int n = threads - w * 32 < 32 ? threads - w * 32 : 32;
            warps.emplace_back(new std::barrier<>(n));
        }
    }
};
inline thread_local Block* block = nullptr;
inline thread_local int tid = 0;
inline std::mutex atomic_lock;
}  // namespace nb_emu

inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

inline void __syncthreads() { nb_emu::block->all.arrive_and_wait(); }
inline void __syncwarp(unsigned = 0xffffffffu) {
    nb_emu::block->warps[nb_emu::tid / 32]->arrive_and_wait();
}

/* lane reads the value that lane src(lane) wrote; out-of-range sources read their own */
template <typename T, typename F> T nb_emu_shuffle(T v, F src) {
    static_assert(sizeof(T) <= 16, "shuffle of a type wider than 16 bytes");
    const int lane = nb_emu::tid % 32, base = nb_emu::tid - lane;
    auto& warp = *nb_emu::block->warps[nb_emu::tid / 32];
    unsigned char* buf = nb_emu::block->lanes.data();
    memcpy(buf + 16 * nb_emu::tid, &v, sizeof(T));
    warp.arrive_and_wait();
    const int s = src(lane);
    T out = v;
    if (s >= 0 && s < 32 && base + s < (int)(blockDim.x * blockDim.y * blockDim.z))
        memcpy(&out, buf + 16 * (base + s), sizeof(T));
    warp.arrive_and_wait();
    return out;
}
template <typename T> T __shfl_down_sync(unsigned, T v, int d) {
    return nb_emu_shuffle(v, [d](int l) { return l + d; });
}
template <typename T> T __shfl_up_sync(unsigned, T v, int d) {
    return nb_emu_shuffle(v, [d](int l) { return l - d; });
}
template <typename T> T __shfl_xor_sync(unsigned, T v, int m) {
    return nb_emu_shuffle(v, [m](int l) { return l ^ m; });
}
template <typename T> T __shfl_sync(unsigned, T v, int s) {
    return nb_emu_shuffle(v, [s](int) { return s; });
}

template <typename T> T atomicAdd(T* p, T v) {
    std::lock_guard<std::mutex> hold(nb_emu::atomic_lock);
    T old = *p;
    *p = old + v;
    return old;
}

inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __half2float(__half h) { return (float)h; }
inline __half __float2half(float f) { return (__half)f; }

/* ---- nvcuda::wmma (tensor-core tiles) -------------------------------------------------
   A fragment's element-to-lane layout is unspecified in CUDA, so a kernel that only moves
   fragments through load/store/fill/mma cannot observe it: here every lane holds the whole
   tile, and every lane does the whole warp-wide operation on its own copy. A store writes
   the same values from every lane, so each lane reads back its own writes. */
namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
    static const int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static const int cols = std::is_same<Use, matrix_a>::value ? K : N;
    T v[rows][cols];
};

template <typename Use, int M, int N, int K, typename T, typename L, typename V>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, V value) {
    for (int r = 0; r < f.rows; ++r)
        for (int c = 0; c < f.cols; ++c) f.v[r][c] = T(value);
}
/* matrix_a / matrix_b: the layout is the fragment's type */
template <typename Use, int M, int N, int K, typename T, typename L>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const T* p, unsigned ldm) {
    static_assert(!std::is_same<Use, accumulator>::value, "accumulators take a layout_t");
    const bool row = std::is_same<L, row_major>::value;
    for (int r = 0; r < f.rows; ++r)
        for (int c = 0; c < f.cols; ++c) f.v[r][c] = row ? p[r * ldm + c] : p[c * ldm + r];
}
template <int M, int N, int K, typename T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned ldm,
                      layout_t layout) {
    for (int r = 0; r < M; ++r)
        for (int c = 0; c < N; ++c)
            f.v[r][c] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
}
template <int M, int N, int K, typename T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm,
                       layout_t layout) {
    for (int r = 0; r < M; ++r)
        for (int c = 0; c < N; ++c)
            (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.v[r][c];
}
/* d = a b + c, products and sums in the accumulator's type */
template <int M, int N, int K, typename A, typename LA, typename LB, typename C>
void mma_sync(fragment<accumulator, M, N, K, C>& d, const fragment<matrix_a, M, N, K, A, LA>& a,
              const fragment<matrix_b, M, N, K, A, LB>& b,
              const fragment<accumulator, M, N, K, C>& c) {
    C out[M][N];
    for (int r = 0; r < M; ++r)
        for (int n = 0; n < N; ++n) {
            C s = c.v[r][n];
            for (int k = 0; k < K; ++k) s += C(a.v[r][k]) * C(b.v[k][n]);
            out[r][n] = s;
        }
    memcpy(d.v, out, sizeof(out));
}
}  // namespace wmma
}  // namespace nvcuda

/* runs kernel<<<grid, block>>>(args...) to completion */
template <typename... P, typename... A>
void nb_emu_launch(void (*kernel)(P...), dim3 grid, dim3 blk, A... args) {
    gridDim = grid;
    blockDim = blk;
    const int threads = blk.x * blk.y * blk.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                nb_emu::Block b(threads);
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (int t = 0; t < threads; ++t)
                    pool.emplace_back([&, t] {
                        nb_emu::block = &b;
                        nb_emu::tid = t;
                        threadIdx = dim3(t % blk.x, (t / blk.x) % blk.y, t / (blk.x * blk.y));
                        blockIdx = dim3(bx, by, bz);
                        kernel(args...);
                        b.all.arrive_and_drop();
                        b.warps[t / 32]->arrive_and_drop();
                    });
                for (auto& th : pool) th.join();
            }
}
