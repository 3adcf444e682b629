#include "crypto/secret.h"

#include <gtest/gtest.h>

#include <type_traits>

namespace cloison::crypto {
namespace {

template <typename T, typename = void>
struct Streamable : std::false_type {};
template <typename T>
struct Streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

TEST(SecretBytesTest, CannotBePrinted) { static_assert(!Streamable<SecretBytes>::value); }

TEST(SecretBytesTest, EqualityIsByContent) {
  auto a = SecretBytes::FromString("correct horse");
  auto b = SecretBytes::FromString("correct horse");
  auto c = SecretBytes::FromString("correct house");
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == SecretBytes::FromString("correct"));
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  auto a = SecretBytes::FromString("k");
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented behaviour
  EXPECT_EQ(b.size(), 1u);
}

}  // namespace
}  // namespace cloison::crypto
