// Tensor: a shared handle to contiguous, typed storage plus autograd metadata.
// Views (reshape, detach, slice along dim 0) share storage; kernels only ever see contiguous
// memory (DESIGN.md §3). A default-constructed Tensor is "undefined" (no storage).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace xgd {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3, 64, 64]"
int64_t shape_numel(const Shape& s);

namespace autograd {
struct Node;
}

// Memory and copies of one device. The CPU runtime is built in; the CUDA backend registers
// its caching allocator and stream copies at start-up, so the engine builds without CUDA.
struct DeviceRuntime {
  virtual ~DeviceRuntime() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_within(void* dst, const void* src, size_t bytes) = 0;
};
void register_runtime(Device device, DeviceRuntime* runtime);
DeviceRuntime& runtime_for(Device device);  // throws when the device's backend is not built

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;              // leaf gradient, accumulated by backward()
  std::shared_ptr<autograd::Node> grad_fn;       // null for leaves
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (contiguous, uninitialised unless named otherwise)
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  static Tensor scalar(double value, DType dtype = DType::F32);
  // Copies `values` (converted to dtype) into a new CPU tensor of `shape`.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32);
  template <class T>
  static Tensor from_data(const T* values, const Shape& shape);

  // ---- metadata
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string str() const;  // "float32[2, 3] cpu"

  // ---- data access (CPU; checks dtype)
  template <class T> T* data();
  template <class T> const T* data() const;
  void* raw_data();
  const void* raw_data() const;
  double item() const;                  // one-element tensor, any dtype, CPU or CUDA
  std::vector<double> to_vector() const;  // any dtype, copied to the host

  // ---- autograd
  bool requires_grad() const;
  Tensor& requires_grad_(bool value = true);  // leaves only
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the gradient (as PyTorch's set_to_none=True)
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  // Reverse-mode from this tensor; accumulates into leaf .grad. A non-scalar needs `grad`.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no history

  // ---- copies and views
  Tensor clone() const;                    // new storage, differentiable
  Tensor reshape(const Shape& shape) const;  // view, differentiable; one dim may be -1
  Tensor to(DType dtype) const;            // conversion copy (not differentiable across dtypes)
  Tensor to(Device device) const;          // copy between devices (differentiable)
  Tensor contiguous_copy_to_host() const { return to(Device::CPU); }
  void copy_(const Tensor& src);           // in place, same shape; no autograd (for optimizers, loading)
  void fill_(double value);                // in place; no autograd

  bool same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl& checked() const;
  std::shared_ptr<TensorImpl> impl_;
};

// Checks used by every op: defined, floating, same device/dtype, expected rank.
void check_defined(const Tensor& t, const char* op, const char* what);
void check_same_device_dtype(const Tensor& a, const Tensor& b, const char* op);
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* what);

}  // namespace xgd
