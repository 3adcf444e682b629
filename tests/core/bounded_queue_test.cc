#include "core/bounded_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <utility>
#include <vector>

namespace cloison {
namespace {

TEST(BoundedQueueTest, DeliversInOrderThenNulloptWhenClosed) {
  BoundedQueue<int> q(2);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(q.Push(i));
    q.Close();
  });
  std::vector<int> got;
  while (auto v = q.Pop()) got.push_back(*v);
  producer.join();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], i);
  EXPECT_FALSE(q.Pop().has_value());  // still closed and empty
}

TEST(BoundedQueueTest, CancelReleasesAProducerBlockedOnAFullQueue) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.Push(1));  // full now
  bool pushed = true;
  std::thread producer([&] { pushed = q.Push(2); });  // blocks until Cancel
  q.Cancel();
  producer.join();
  EXPECT_FALSE(pushed);
  EXPECT_TRUE(q.cancelled());
  EXPECT_FALSE(q.Push(3));
  // What was queued before the cancel can still be taken.
  q.Close();
  auto v = q.Pop();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 1);
  EXPECT_FALSE(q.Pop().has_value());
}

// Records the thread that destroys it.
struct Tracked {
  std::thread::id* destroyed_on = nullptr;
  Tracked() = default;
  explicit Tracked(std::thread::id* d) : destroyed_on(d) {}
  Tracked(Tracked&& o) noexcept : destroyed_on(std::exchange(o.destroyed_on, nullptr)) {}
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() {
    if (destroyed_on) *destroyed_on = std::this_thread::get_id();
  }
};

TEST(HandBackTest, ItemsGivenOnOneThreadAreDestroyedByTheOneThatDrops) {
  HandBack<Tracked> back;
  std::thread::id first{}, second{};
  back.Give(Tracked(&first));
  back.Give(Tracked(&second));
  EXPECT_EQ(first, std::thread::id{}) << "kept until dropped";
  std::thread::id dropper{};
  std::thread t([&] {
    dropper = std::this_thread::get_id();
    back.DropAll();
  });
  t.join();
  EXPECT_EQ(first, dropper);
  EXPECT_EQ(second, dropper);
  // Dropped once: a second DropAll destroys nothing more, and the hand-back
  // takes new items.
  std::thread::id third{};
  back.DropAll();
  back.Give(Tracked(&third));
  EXPECT_EQ(third, std::thread::id{});
  back.DropAll();
  EXPECT_EQ(third, std::this_thread::get_id());
}

}  // namespace
}  // namespace cloison
