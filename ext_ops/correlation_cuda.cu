// CUDA kernels for the correlation (cost volume) op; definition and layout as in correlation.cpp.
// Inputs arrive channels-last (NHWC, contiguous) from correlation.cpp.
//  - forward: one warp per output element (n, d, oy, ox); lanes stride over channels (coalesced), shuffle reduction.
//  - backward: one thread per input element (n, y, x, c); c fastest so neighbouring threads read neighbouring memory.

#include <torch/extension.h>
#include <ATen/AccumulateType.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include <vector>

namespace {

constexpr int kThreads = 256;

template <typename scalar_t>
__global__ void corr_forward_kernel(const scalar_t* __restrict__ f1, const scalar_t* __restrict__ f2,
                                    scalar_t* __restrict__ out, int64_t N, int64_t H, int64_t W, int64_t C,
                                    int64_t Ho, int64_t Wo, int64_t dr, int64_t s1, int64_t s2, int64_t r) {
  using acc_t = at::acc_type<scalar_t, true>;
  const int64_t D = 2 * dr + 1, D2 = D * D;
  const int64_t total = N * D2 * Ho * Wo;
  const int64_t warp_id = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp_id >= total) return;  // uniform across the warp
  const int64_t ox = warp_id % Wo;
  int64_t t = warp_id / Wo;
  const int64_t oy = t % Ho;
  t /= Ho;
  const int64_t d = t % D2, n = t / D2;
  const int64_t p = d / D - dr, q = d % D - dr;
  acc_t s = 0;
  for (int64_t a = -r; a <= r; ++a) {
    const int64_t y1 = oy * s1 + a, y2 = y1 + p * s2;
    if (y1 < 0 || y1 >= H || y2 < 0 || y2 >= H) continue;
    for (int64_t b = -r; b <= r; ++b) {
      const int64_t x1 = ox * s1 + b, x2 = x1 + q * s2;
      if (x1 < 0 || x1 >= W || x2 < 0 || x2 >= W) continue;
      const scalar_t* p1 = f1 + ((n * H + y1) * W + x1) * C;
      const scalar_t* p2 = f2 + ((n * H + y2) * W + x2) * C;
      for (int64_t c = lane; c < C; c += 32) s += acc_t(p1[c]) * acc_t(p2[c]);
    }
  }
  for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
  if (lane == 0) out[warp_id] = scalar_t(s / acc_t((2 * r + 1) * (2 * r + 1) * C));
}

__device__ __forceinline__ int64_t out_index(int64_t v, int64_t a, int64_t s1, int64_t size) {
  const int64_t t = v - a;
  if (t < 0 || t % s1 != 0) return -1;
  const int64_t o = t / s1;
  return o < size ? o : -1;
}

// grad: (N, Ho, Wo, D2); g1, g2: (N, H, W, C).
template <typename scalar_t>
__global__ void corr_backward_kernel(const scalar_t* __restrict__ grad, const scalar_t* __restrict__ f1,
                                     const scalar_t* __restrict__ f2, scalar_t* __restrict__ g1,
                                     scalar_t* __restrict__ g2, int64_t N, int64_t H, int64_t W, int64_t C,
                                     int64_t Ho, int64_t Wo, int64_t dr, int64_t s1, int64_t s2, int64_t r) {
  using acc_t = at::acc_type<scalar_t, true>;
  const int64_t D = 2 * dr + 1, D2 = D * D;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= N * H * W * C) return;
  const int64_t c = idx % C;
  int64_t t = idx / C;
  const int64_t x = t % W;
  t /= W;
  const int64_t y = t % H, n = t / H;
  const acc_t norm = acc_t(1) / acc_t((2 * r + 1) * (2 * r + 1) * C);
  // grad wrt f1[n, y, x, c]
  acc_t acc = 0;
  for (int64_t a = -r; a <= r; ++a) {
    const int64_t oy = out_index(y, a, s1, Ho);
    if (oy < 0) continue;
    for (int64_t b = -r; b <= r; ++b) {
      const int64_t ox = out_index(x, b, s1, Wo);
      if (ox < 0) continue;
      const scalar_t* gp = grad + ((n * Ho + oy) * Wo + ox) * D2;
      for (int64_t p = -dr; p <= dr; ++p) {
        const int64_t y2 = y + p * s2;
        if (y2 < 0 || y2 >= H) continue;
        for (int64_t q = -dr; q <= dr; ++q) {
          const int64_t x2 = x + q * s2;
          if (x2 < 0 || x2 >= W) continue;
          acc += acc_t(gp[(p + dr) * D + (q + dr)]) * acc_t(f2[((n * H + y2) * W + x2) * C + c]);
        }
      }
    }
  }
  g1[idx] = scalar_t(acc * norm);
  // grad wrt f2[n, y, x, c]
  acc = 0;
  for (int64_t p = -dr; p <= dr; ++p) {
    const int64_t y1 = y - p * s2;
    if (y1 < 0 || y1 >= H) continue;
    for (int64_t q = -dr; q <= dr; ++q) {
      const int64_t x1 = x - q * s2;
      if (x1 < 0 || x1 >= W) continue;
      const int64_t d = (p + dr) * D + (q + dr);
      acc_t gsum = 0;
      for (int64_t a = -r; a <= r; ++a) {
        const int64_t oy = out_index(y1, a, s1, Ho);
        if (oy < 0) continue;
        for (int64_t b = -r; b <= r; ++b) {
          const int64_t ox = out_index(x1, b, s1, Wo);
          if (ox < 0) continue;
          gsum += acc_t(grad[((n * Ho + oy) * Wo + ox) * D2 + d]);
        }
      }
      acc += gsum * acc_t(f1[((n * H + y1) * W + x1) * C + c]);
    }
  }
  g2[idx] = scalar_t(acc * norm);
}

int64_t blocks_for(int64_t threads) { return (threads + kThreads - 1) / kThreads; }

}  // namespace

at::Tensor correlation_forward_cuda(const at::Tensor& f1, const at::Tensor& f2, int64_t N, int64_t H, int64_t W,
                                    int64_t C, int64_t dr, int64_t s1, int64_t s2, int64_t r) {
  const c10::cuda::CUDAGuard guard(f1.device());
  const int64_t Ho = (H + s1 - 1) / s1, Wo = (W + s1 - 1) / s1, D2 = (2 * dr + 1) * (2 * dr + 1);
  at::Tensor out = at::empty({N, D2, Ho, Wo}, f1.options());
  const int64_t total = out.numel();
  if (total == 0) return out;
  if (C == 0) return out.zero_();
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(f1.scalar_type(), "correlation_forward_cuda", [&] {
    corr_forward_kernel<scalar_t><<<blocks_for(total * 32), kThreads, 0, stream>>>(
        f1.data_ptr<scalar_t>(), f2.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), N, H, W, C, Ho, Wo, dr, s1, s2,
        r);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

std::vector<at::Tensor> correlation_backward_cuda(const at::Tensor& grad, const at::Tensor& f1, const at::Tensor& f2,
                                                  int64_t N, int64_t H, int64_t W, int64_t C, int64_t dr, int64_t s1,
                                                  int64_t s2, int64_t r) {
  const c10::cuda::CUDAGuard guard(f1.device());
  const int64_t Ho = (H + s1 - 1) / s1, Wo = (W + s1 - 1) / s1;
  at::Tensor g1 = at::empty_like(f1), g2 = at::empty_like(f2);
  const int64_t total = f1.numel();
  if (total > 0) {
    auto stream = c10::cuda::getCurrentCUDAStream();
    AT_DISPATCH_FLOATING_TYPES(f1.scalar_type(), "correlation_backward_cuda", [&] {
      corr_backward_kernel<scalar_t><<<blocks_for(total), kThreads, 0, stream>>>(
          grad.data_ptr<scalar_t>(), f1.data_ptr<scalar_t>(), f2.data_ptr<scalar_t>(), g1.data_ptr<scalar_t>(),
          g2.data_ptr<scalar_t>(), N, H, W, C, Ho, Wo, dr, s1, s2, r);
    });
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  }
  return {g1.permute({0, 3, 1, 2}).contiguous(), g2.permute({0, 3, 1, 2}).contiguous()};
}
