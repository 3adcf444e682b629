#include "core/bounded_queue.h"

#include <gtest/gtest.h>

#include <thread>
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

}  // namespace
}  // namespace cloison
