#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "engine/autograd.h"
#include "engine/ops/op_util.h"
#include "engine/ops/pointwise.h"
#include "kernels/cuda/tensor.h"

namespace xgd {

// kernels/cuda/tensor.h indexes its fill/cast tables by these values.
static_assert(static_cast<int>(DType::F32) == 0 && static_cast<int>(DType::F64) == 1 &&
              static_cast<int>(DType::I64) == 2 && static_cast<int>(DType::U8) == 3);

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// ---------------------------------------------------------------- device runtimes
namespace {
struct CpuRuntime final : DeviceRuntime {
  // 64-byte alignment: one AVX-512 register, one cache line.
  void* allocate(size_t bytes) override {
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    XGD_CHECK(p != nullptr, "out of host memory allocating ", bytes, " bytes");
    return p;
  }
  void deallocate(void* ptr, size_t) override { std::free(ptr); }
  void copy_from_host(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy_within(void* dst, const void* src, size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
};
CpuRuntime cpu_runtime;
DeviceRuntime* cuda_runtime = nullptr;
}  // namespace

void register_runtime(Device device, DeviceRuntime* runtime) {
  XGD_CHECK(device == Device::CUDA, "register_runtime: the CPU runtime is built in");
  cuda_runtime = runtime;
}

DeviceRuntime& runtime_for(Device device) {
  if (device == Device::CPU) return cpu_runtime;
  XGD_CHECK(cuda_runtime != nullptr,
            "device cuda: this build has no CUDA backend (configure with -DXGD_CUDA=ON)");
  return *cuda_runtime;
}

Storage::Storage(size_t n, Device dev) : bytes(n), device(dev) {
  data = runtime_for(dev).allocate(n);
}
Storage::~Storage() { runtime_for(device).deallocate(data, bytes); }

// ---------------------------------------------------------------- factories
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) XGD_CHECK(d >= 0, "Tensor::empty: negative size in ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

namespace {
template <class T>
void convert_from_double(T* dst, const double* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
}
// Calls fn.template operator()<T>() for any dtype.
template <class Fn>
decltype(auto) dispatch_all(DType t, Fn&& fn) {
  switch (t) {
    case DType::F32: return fn.template operator()<float>();
    case DType::F64: return fn.template operator()<double>();
    case DType::I64: return fn.template operator()<int64_t>();
    case DType::U8: return fn.template operator()<uint8_t>();
  }
  XGD_FAIL("unknown dtype");
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  XGD_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "Tensor::from_vector: ",
            values.size(), " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype);
  dispatch_all(dtype, [&]<class T>() {
    convert_from_double(t.data<T>(), values.data(), t.numel());
  });
  return t;
}

template <class T>
Tensor Tensor::from_data(const T* values, const Shape& shape) {
  Tensor t = empty(shape, dtype_of<T>());
  if (t.numel()) std::memcpy(t.data<T>(), values, t.nbytes());
  return t;
}
template Tensor Tensor::from_data<float>(const float*, const Shape&);
template Tensor Tensor::from_data<double>(const double*, const Shape&);
template Tensor Tensor::from_data<int64_t>(const int64_t*, const Shape&);
template Tensor Tensor::from_data<uint8_t>(const uint8_t*, const Shape&);

// ---------------------------------------------------------------- metadata
TensorImpl& Tensor::checked() const {
  XGD_CHECK(impl_ != nullptr, "use of an undefined tensor");
  return *impl_;
}
const Shape& Tensor::shape() const { return checked().shape; }
int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  int64_t k = d < 0 ? d + n : d;
  XGD_CHECK(k >= 0 && k < n, "Tensor::size: dim ", d, " out of range for shape ",
            shape_str(shape()));
  return shape()[k];
}
DType Tensor::dtype() const { return checked().dtype; }
Device Tensor::device() const { return checked().storage->device; }
std::string Tensor::str() const {
  if (!defined()) return "undefined";
  return detail::concat(dtype_name(dtype()), shape_str(shape()), " ", device_name(device()));
}

template <class T>
T* Tensor::data() {
  XGD_CHECK(dtype() == dtype_of<T>(), "Tensor::data: tensor is ", dtype_name(dtype()),
            ", asked for ", dtype_name(dtype_of<T>()));
  return static_cast<T*>(checked().storage->data) + impl_->offset;
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template int64_t* Tensor::data<int64_t>();
template uint8_t* Tensor::data<uint8_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const int64_t* Tensor::data<int64_t>() const;
template const uint8_t* Tensor::data<uint8_t>() const;

void* Tensor::raw_data() {
  auto& i = checked();
  return static_cast<char*>(i.storage->data) + i.offset * dtype_size(i.dtype);
}
const void* Tensor::raw_data() const { return const_cast<Tensor*>(this)->raw_data(); }

std::vector<double> Tensor::to_vector() const {
  Tensor host = device() == Device::CPU ? *this : to(Device::CPU);
  std::vector<double> out(host.numel());
  dispatch_all(dtype(), [&]<class T>() {
    const T* p = host.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

double Tensor::item() const {
  XGD_CHECK(numel() == 1, "Tensor::item: tensor ", str(), " has ", numel(), " elements");
  return to_vector()[0];
}

// ---------------------------------------------------------------- autograd
bool Tensor::requires_grad() const { return checked().requires_grad; }
Tensor& Tensor::requires_grad_(bool value) {
  XGD_CHECK(is_leaf() || value, "requires_grad_: only leaves can stop requiring grad");
  XGD_CHECK(!value || is_floating(dtype()), "requires_grad_: ", str(),
            " is not floating point");
  checked().requires_grad = value;
  return *this;
}
bool Tensor::is_leaf() const { return checked().grad_fn == nullptr; }
Tensor Tensor::grad() const { return Tensor(checked().grad); }
void Tensor::set_grad(const Tensor& g) {
  if (g.defined()) {
    XGD_CHECK(g.shape() == shape() && g.dtype() == dtype() && g.device() == device(),
              "set_grad: gradient ", g.str(), " does not match tensor ", str());
  }
  checked().grad = g.impl_ptr();
}
void Tensor::zero_grad() { checked().grad.reset(); }
const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const { return checked().grad_fn; }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  autograd::backward({*this}, {grad}, retain_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = checked().storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->dtype = impl_->dtype;
  return Tensor(std::move(impl));
}

// ---------------------------------------------------------------- copies and views
namespace {
Tensor copy_of(const Tensor& src, Device device) {
  Tensor out = Tensor::empty(src.shape(), src.dtype(), device);
  size_t n = src.nbytes();
  if (src.device() == Device::CPU && device == Device::CPU) {
    runtime_for(Device::CPU).copy_within(out.raw_data(), src.raw_data(), n);
  } else if (src.device() == Device::CPU) {
    runtime_for(device).copy_from_host(out.raw_data(), src.raw_data(), n);
  } else if (device == Device::CPU) {
    runtime_for(src.device()).copy_to_host(out.raw_data(), src.raw_data(), n);
  } else {
    runtime_for(device).copy_within(out.raw_data(), src.raw_data(), n);
  }
  return out;
}
}  // namespace

Tensor Tensor::clone() const {
  Tensor out = copy_of(*this, device());
  return autograd::record(out, "clone", {*this},
                          [](const Tensor& g, const std::vector<bool>&) -> std::vector<Tensor> {
                            return {g};
                          });
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  Shape s = new_shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      XGD_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(new_shape));
      infer = static_cast<int64_t>(i);
    } else {
      XGD_CHECK(s[i] >= 0, "reshape: negative size in ", shape_str(new_shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    XGD_CHECK(known > 0 && numel() % known == 0, "reshape: cannot reshape ", str(), " to ",
              shape_str(new_shape));
    s[infer] = numel() / known;
  }
  XGD_CHECK(shape_numel(s) == numel(), "reshape: cannot reshape ", str(), " to ",
            shape_str(new_shape));
  Tensor out = detach();
  out.impl()->shape = s;
  Shape original = shape();
  return autograd::record(out, "reshape", {*this},
                          [original](const Tensor& g, const std::vector<bool>&) {
                            return std::vector<Tensor>{g.reshape(original)};
                          });
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  if (device() == Device::CPU) {
    dispatch_all(dtype(), [&]<class S>() {
      dispatch_all(target, [&]<class D>() {
        const S* s = data<S>();
        D* d = out.data<D>();
        for (int64_t i = 0; i < numel(); ++i) d[i] = static_cast<D>(s[i]);
      });
    });
  } else {
    // Table indices are the DType values (kernels/cuda/tensor.h).
    const auto& table = ops::cuda_kernels<kernels::cuda::TensorTable>("to(dtype)");
    table.cast[static_cast<int>(dtype())][static_cast<int>(target)](raw_data(), out.raw_data(),
                                                                    numel(), ops::cuda_stream());
  }
  // Float<->float conversion is differentiable (used by gradcheck helpers).
  if (is_floating(dtype()) && is_floating(target)) {
    DType back = dtype();
    return autograd::record(out, "to_dtype", {*this},
                            [back](const Tensor& g, const std::vector<bool>&) {
                              return std::vector<Tensor>{g.to(back)};
                            });
  }
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = copy_of(*this, target);
  Device back = device();
  return autograd::record(out, "to_device", {*this},
                          [back](const Tensor& g, const std::vector<bool>&) {
                            return std::vector<Tensor>{g.to(back)};
                          });
}

void Tensor::copy_(const Tensor& src) {
  XGD_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_: source ", src.str(),
            " does not match destination ", str());
  if (src.device() == device()) {
    runtime_for(device()).copy_within(raw_data(), src.raw_data(), nbytes());
  } else if (src.device() == Device::CPU) {
    runtime_for(device()).copy_from_host(raw_data(), src.raw_data(), nbytes());
  } else {
    runtime_for(src.device()).copy_to_host(raw_data(), src.raw_data(), nbytes());
  }
}

void Tensor::fill_(double value) {
  if (device() == Device::CPU) {
    dispatch_all(dtype(), [&]<class T>() {
      T* p = data<T>();
      T v = static_cast<T>(value);
      for (int64_t i = 0; i < numel(); ++i) p[i] = v;
    });
  } else {
    ops::cuda_kernels<kernels::cuda::TensorTable>("fill_")
        .fill[static_cast<int>(dtype())](raw_data(), numel(), value, ops::cuda_stream());
  }
}

// ---------------------------------------------------------------- checks
void check_defined(const Tensor& t, const char* op, const char* what) {
  XGD_CHECK(t.defined(), op, ": ", what, " is undefined");
}
void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op) {
  XGD_CHECK(a.device() == b.device(), op, ": tensors on different devices: ", a.str(), " and ",
            b.str());
  XGD_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ: ", a.str(), " and ", b.str());
}
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* what) {
  XGD_CHECK(t.dim() == dim, op, ": ", what, " must have ", dim, " dims, got ", t.str());
}

}  // namespace xgd
