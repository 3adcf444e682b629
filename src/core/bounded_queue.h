// A bounded hand-off of items between one producer thread and one consumer
// thread (a pipeline stage ahead of another: generating or reading people a
// batch or two ahead of the store's writes).
//
// The producer Pushes, then Closes when it has nothing more. The consumer
// Pops until nullopt (closed and drained), or Cancels when it gives up early:
// a Push blocked on a full queue then returns false, and the producer should
// stop. Thread-safety: every member may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace cloison {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Waits for room. False (and `item` dropped) once the consumer cancelled.
  bool Push(T item) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return cancelled_ || items_.size() < capacity_; });
    if (cancelled_) return false;
    items_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }
  // The producer is done: Pop returns nullopt once the queue is drained.
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // The consumer gives up: pending and future Pushes return false.
  void Cancel() {
    std::lock_guard<std::mutex> l(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> l(mu_);
    return cancelled_;
  }
  // Waits for an item; nullopt when closed and empty.
  std::optional<T> Pop() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    cv_.notify_all();
    return item;
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  bool closed_ = false, cancelled_ = false;
};

// Items one thread is done with, handed back to another thread to be
// destroyed there: a pipeline's last stage (the store's writes, the
// bottleneck) Gives each batch it has written, and the first stage, which
// allocated it, frees it with DropAll before building the next. Keeps the
// deallocation of 20,000 people's strings off the thread that limits the
// pipeline. Unbounded, but the batches in flight are bounded by the queue
// between the stages. Thread-safety: every member may be called from any
// thread; the items are destroyed by the caller of DropAll, outside the lock.
template <typename T>
class HandBack {
 public:
  void Give(T item) {
    std::lock_guard<std::mutex> l(mu_);
    items_.push_back(std::move(item));
  }
  void DropAll() {
    std::deque<T> done;  // declared before the lock: destroyed after the unlock
    std::lock_guard<std::mutex> l(mu_);
    done.swap(items_);
  }

 private:
  std::mutex mu_;
  std::deque<T> items_;
};

}  // namespace cloison
