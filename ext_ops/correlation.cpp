// FlowNet / PWC-Net correlation (cost volume): CPU kernels (ATen parallel_for, OpenMP backend) and the
// Python binding. The CUDA kernels live in correlation_cuda.cu and are compiled in when WITH_CUDA is defined.
//
// Definition (same as deepfovea_nb.ops.correlation_reference; flownet2's Correlation with
// pad_size = max_displacement + r): for displacement index (p, q) in [-dr, dr]^2, dr = max_displacement / stride2,
//   out[n, (p+dr)*(2dr+1) + (q+dr), oy, ox] =
//     1/(k*k*C) * sum_{c, a, b in [-r, r]} f1[n, c, y1, x1] * f2[n, c, y1 + p*stride2, x1 + q*stride2],
//   y1 = oy*stride1 + a, x1 = ox*stride1 + b, r = (k-1)/2, zeros outside the frame,
//   Ho = ceil(H / stride1), Wo = ceil(W / stride1).
// Kernels work on channels-last (NHWC) copies so the channel loops are contiguous and vectorise.

#include <torch/extension.h>
#include <ATen/AccumulateType.h>
#include <ATen/Parallel.h>

#include <vector>

namespace {

struct Geom {
  int64_t N, H, W, C, Ho, Wo;
  int64_t dr, s1, s2, r, D, D2;
};

Geom make_geom(const at::Tensor& f1, int64_t max_displacement, int64_t stride1, int64_t stride2, int64_t kernel_size) {
  Geom g;
  g.N = f1.size(0); g.C = f1.size(1); g.H = f1.size(2); g.W = f1.size(3);
  g.s1 = stride1; g.s2 = stride2; g.r = (kernel_size - 1) / 2;
  g.dr = max_displacement / stride2; g.D = 2 * g.dr + 1; g.D2 = g.D * g.D;
  g.Ho = (g.H + stride1 - 1) / stride1; g.Wo = (g.W + stride1 - 1) / stride1;
  return g;
}

void check_args(const at::Tensor& f1, const at::Tensor& f2, int64_t max_displacement, int64_t stride1,
                int64_t stride2, int64_t kernel_size) {
  TORCH_CHECK(f1.dim() == 4 && f2.dim() == 4, "correlation: f1 and f2 must be 4-D (N, C, H, W)");
  TORCH_CHECK(f1.sizes() == f2.sizes(), "correlation: f1 and f2 must have the same shape");
  TORCH_CHECK(f1.device() == f2.device(), "correlation: f1 and f2 must be on the same device");
  TORCH_CHECK(f1.scalar_type() == f2.scalar_type(), "correlation: f1 and f2 must have the same dtype");
  TORCH_CHECK(f1.scalar_type() == at::kFloat || f1.scalar_type() == at::kDouble,
              "correlation (compiled): only float32 and float64 are supported");
  TORCH_CHECK(max_displacement >= 0, "correlation: max_displacement must be >= 0");
  TORCH_CHECK(stride1 >= 1 && stride2 >= 1, "correlation: strides must be >= 1");
  TORCH_CHECK(kernel_size >= 1 && kernel_size % 2 == 1, "correlation: kernel_size must be odd and >= 1");
}

template <typename scalar_t>
void forward_cpu_kernel(const scalar_t* f1, const scalar_t* f2, scalar_t* out, const Geom g) {
  using acc_t = scalar_t;  // float accumulates in float (vectorises); error ~1e-7 relative for C <= 1k
  const acc_t norm = acc_t(1) / acc_t((2 * g.r + 1) * (2 * g.r + 1) * g.C);
  at::parallel_for(0, g.N * g.Ho, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> acc(g.D2);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / g.Ho, oy = row % g.Ho;
      for (int64_t ox = 0; ox < g.Wo; ++ox) {
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (int64_t a = -g.r; a <= g.r; ++a) {
          const int64_t y1 = oy * g.s1 + a;
          if (y1 < 0 || y1 >= g.H) continue;
          for (int64_t b = -g.r; b <= g.r; ++b) {
            const int64_t x1 = ox * g.s1 + b;
            if (x1 < 0 || x1 >= g.W) continue;
            const scalar_t* p1 = f1 + ((n * g.H + y1) * g.W + x1) * g.C;
            for (int64_t p = -g.dr; p <= g.dr; ++p) {
              const int64_t y2 = y1 + p * g.s2;
              if (y2 < 0 || y2 >= g.H) continue;
              for (int64_t q = -g.dr; q <= g.dr; ++q) {
                const int64_t x2 = x1 + q * g.s2;
                if (x2 < 0 || x2 >= g.W) continue;
                const scalar_t* p2 = f2 + ((n * g.H + y2) * g.W + x2) * g.C;
                acc_t s = 0;
#pragma omp simd reduction(+ : s)
                for (int64_t c = 0; c < g.C; ++c) s += acc_t(p1[c]) * acc_t(p2[c]);
                acc[(p + g.dr) * g.D + (q + g.dr)] += s;
              }
            }
          }
        }
        for (int64_t d = 0; d < g.D2; ++d) out[((n * g.D2 + d) * g.Ho + oy) * g.Wo + ox] = scalar_t(acc[d] * norm);
      }
    }
  });
}

// grad (N, Ho, Wo, D2) channels-last; grad_f1 / grad_f2 (N, H, W, C).
template <typename scalar_t>
void backward_cpu_kernel(const scalar_t* grad, const scalar_t* f1, const scalar_t* f2, scalar_t* g1, scalar_t* g2,
                         const Geom g) {
  using acc_t = scalar_t;  // float accumulates in float (vectorises); error ~1e-7 relative for C <= 1k
  const acc_t norm = acc_t(1) / acc_t((2 * g.r + 1) * (2 * g.r + 1) * g.C);
  // output (oy, ox) reads f1 at window position (y1, x1) = (oy*s1 + a, ox*s1 + b): invert that map.
  auto out_index = [&](int64_t v, int64_t a, int64_t size) -> int64_t {
    const int64_t t = v - a;
    if (t < 0 || t % g.s1 != 0) return -1;
    const int64_t o = t / g.s1;
    return o < size ? o : -1;
  };
  at::parallel_for(0, g.N * g.H, 1, [&](int64_t begin, int64_t end) {
    std::vector<acc_t> acc(g.C);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / g.H, y = row % g.H;
      for (int64_t x = 0; x < g.W; ++x) {
        // d out / d f1[n, y, x, :] = sum over outputs using (y, x) as window tap, over displacements, of grad * f2.
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (int64_t a = -g.r; a <= g.r; ++a) {
          const int64_t oy = out_index(y, a, g.Ho);
          if (oy < 0) continue;
          for (int64_t b = -g.r; b <= g.r; ++b) {
            const int64_t ox = out_index(x, b, g.Wo);
            if (ox < 0) continue;
            const scalar_t* gp = grad + ((n * g.Ho + oy) * g.Wo + ox) * g.D2;
            for (int64_t p = -g.dr; p <= g.dr; ++p) {
              const int64_t y2 = y + p * g.s2;
              if (y2 < 0 || y2 >= g.H) continue;
              for (int64_t q = -g.dr; q <= g.dr; ++q) {
                const int64_t x2 = x + q * g.s2;
                if (x2 < 0 || x2 >= g.W) continue;
                const acc_t gv = gp[(p + g.dr) * g.D + (q + g.dr)];
                const scalar_t* p2 = f2 + ((n * g.H + y2) * g.W + x2) * g.C;
                acc_t* ac = acc.data();
#pragma omp simd
                for (int64_t c = 0; c < g.C; ++c) ac[c] += gv * acc_t(p2[c]);
              }
            }
          }
        }
        scalar_t* o1 = g1 + ((n * g.H + y) * g.W + x) * g.C;
        for (int64_t c = 0; c < g.C; ++c) o1[c] = scalar_t(acc[c] * norm);
        // d out / d f2[n, y, x, :]: f1 sits at (y - p*s2, x - q*s2); sum the grads of every window reading it.
        std::fill(acc.begin(), acc.end(), acc_t(0));
        for (int64_t p = -g.dr; p <= g.dr; ++p) {
          const int64_t y1 = y - p * g.s2;
          if (y1 < 0 || y1 >= g.H) continue;
          for (int64_t q = -g.dr; q <= g.dr; ++q) {
            const int64_t x1 = x - q * g.s2;
            if (x1 < 0 || x1 >= g.W) continue;
            const int64_t d = (p + g.dr) * g.D + (q + g.dr);
            acc_t gsum = 0;
            for (int64_t a = -g.r; a <= g.r; ++a) {
              const int64_t oy = out_index(y1, a, g.Ho);
              if (oy < 0) continue;
              for (int64_t b = -g.r; b <= g.r; ++b) {
                const int64_t ox = out_index(x1, b, g.Wo);
                if (ox < 0) continue;
                gsum += grad[((n * g.Ho + oy) * g.Wo + ox) * g.D2 + d];
              }
            }
            const scalar_t* p1 = f1 + ((n * g.H + y1) * g.W + x1) * g.C;
            acc_t* ac = acc.data();
#pragma omp simd
            for (int64_t c = 0; c < g.C; ++c) ac[c] += gsum * acc_t(p1[c]);
          }
        }
        scalar_t* o2 = g2 + ((n * g.H + y) * g.W + x) * g.C;
        for (int64_t c = 0; c < g.C; ++c) o2[c] = scalar_t(acc[c] * norm);
      }
    }
  });
}

}  // namespace

#ifdef WITH_CUDA
at::Tensor correlation_forward_cuda(const at::Tensor& f1, const at::Tensor& f2, int64_t N, int64_t H, int64_t W,
                                    int64_t C, int64_t dr, int64_t s1, int64_t s2, int64_t r);
std::vector<at::Tensor> correlation_backward_cuda(const at::Tensor& grad, const at::Tensor& f1, const at::Tensor& f2,
                                                  int64_t N, int64_t H, int64_t W, int64_t C, int64_t dr, int64_t s1,
                                                  int64_t s2, int64_t r);
#endif

// f1, f2: (N, C, H, W) -> (N, D2, Ho, Wo), contiguous.
at::Tensor correlation_forward(const at::Tensor& f1, const at::Tensor& f2, int64_t max_displacement, int64_t stride1,
                               int64_t stride2, int64_t kernel_size) {
  check_args(f1, f2, max_displacement, stride1, stride2, kernel_size);
  const Geom g = make_geom(f1, max_displacement, stride1, stride2, kernel_size);
  const at::Tensor a = f1.permute({0, 2, 3, 1}).contiguous();
  const at::Tensor b = f2.permute({0, 2, 3, 1}).contiguous();
  if (f1.is_cuda()) {
#ifdef WITH_CUDA
    return correlation_forward_cuda(a, b, g.N, g.H, g.W, g.C, g.dr, g.s1, g.s2, g.r);
#else
    TORCH_CHECK(false, "correlation: this build of the extension has no CUDA kernels");
#endif
  }
  TORCH_CHECK(f1.is_cpu(), "correlation (compiled): unsupported device ", f1.device());
  at::Tensor out = at::empty({g.N, g.D2, g.Ho, g.Wo}, f1.options());
  if (out.numel() == 0) return out.zero_();
  AT_DISPATCH_FLOATING_TYPES(f1.scalar_type(), "correlation_forward_cpu", [&] {
    forward_cpu_kernel<scalar_t>(a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), g);
  });
  return out;
}

// grad: (N, D2, Ho, Wo) -> {grad_f1, grad_f2}, each (N, C, H, W) contiguous.
std::vector<at::Tensor> correlation_backward(const at::Tensor& grad, const at::Tensor& f1, const at::Tensor& f2,
                                             int64_t max_displacement, int64_t stride1, int64_t stride2,
                                             int64_t kernel_size) {
  check_args(f1, f2, max_displacement, stride1, stride2, kernel_size);
  const Geom g = make_geom(f1, max_displacement, stride1, stride2, kernel_size);
  TORCH_CHECK(grad.dim() == 4 && grad.size(0) == g.N && grad.size(1) == g.D2 && grad.size(2) == g.Ho &&
                  grad.size(3) == g.Wo,
              "correlation backward: grad has shape ", grad.sizes(), ", expected [", g.N, ", ", g.D2, ", ", g.Ho, ", ",
              g.Wo, "]");
  TORCH_CHECK(grad.device() == f1.device() && grad.scalar_type() == f1.scalar_type(),
              "correlation backward: grad must match f1's device and dtype");
  const at::Tensor gr = grad.permute({0, 2, 3, 1}).contiguous();
  const at::Tensor a = f1.permute({0, 2, 3, 1}).contiguous();
  const at::Tensor b = f2.permute({0, 2, 3, 1}).contiguous();
  if (f1.is_cuda()) {
#ifdef WITH_CUDA
    return correlation_backward_cuda(gr, a, b, g.N, g.H, g.W, g.C, g.dr, g.s1, g.s2, g.r);
#else
    TORCH_CHECK(false, "correlation: this build of the extension has no CUDA kernels");
#endif
  }
  TORCH_CHECK(f1.is_cpu(), "correlation (compiled): unsupported device ", f1.device());
  at::Tensor g1 = at::empty_like(a), g2 = at::empty_like(b);
  if (a.numel() > 0) {
    AT_DISPATCH_FLOATING_TYPES(f1.scalar_type(), "correlation_backward_cpu", [&] {
      backward_cpu_kernel<scalar_t>(gr.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                                    g1.data_ptr<scalar_t>(), g2.data_ptr<scalar_t>(), g);
    });
  }
  return {g1.permute({0, 3, 1, 2}).contiguous(), g2.permute({0, 3, 1, 2}).contiguous()};
}

bool has_cuda() {
#ifdef WITH_CUDA
  return true;
#else
  return false;
#endif
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "deepfovea_nb correlation (cost volume) kernels: CPU (ATen/OpenMP) and optionally CUDA";
  m.def("correlation_forward", &correlation_forward, "cost volume forward (N,C,H,W) x2 -> (N,(2d'+1)^2,Ho,Wo)");
  m.def("correlation_backward", &correlation_backward, "cost volume backward -> [grad_f1, grad_f2]");
  m.def("has_cuda", &has_cuda, "whether CUDA kernels were compiled in");
}
