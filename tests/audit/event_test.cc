#include <gtest/gtest.h>

#include "audit/event.h"

namespace cloison::audit {
namespace {

Event Sample() {
  Event e;
  e.kind = EventKind::kRead;
  e.time = 1'700'000'000'123'456;
  e.account = AccountId(42);
  e.session = "s-7f3a";
  e.source = "203.0.113.7";
  e.persons = {PersonId(9), PersonId(3)};
  e.fields = {"nom", "nir"};
  e.purpose = "suivi";
  e.justification = "rendez-vous du 12/03 \"bilan\"";
  e.decision = "allow";
  e.reason = "referent";
  e.details = {{"z", "1"}, {"a", "tab\there"}};
  return e;
}

TEST(EventTest, CanonicalBytesAreFixed) {
  EXPECT_EQ(EncodeEvent(Sample()),
            "{\"account\":42,\"decision\":\"allow\",\"details\":{\"a\":\"tab\\there\",\"z\":\"1\"},"
            "\"fields\":[\"nom\",\"nir\"],\"justification\":\"rendez-vous du 12/03 \\\"bilan\\\"\",\"kind\":\"read\","
            "\"persons\":[9,3],\"purpose\":\"suivi\",\"reason\":\"referent\",\"session\":\"s-7f3a\","
            "\"source\":\"203.0.113.7\",\"time\":1700000000123456,\"v\":1}");
  Event minimal;
  minimal.time = 5;
  EXPECT_EQ(EncodeEvent(minimal), "{\"kind\":\"system\",\"time\":5,\"v\":1}");
}

TEST(EventTest, RoundTripAndCanonicalOnly) {
  const Event e = Sample();
  const std::string bytes = EncodeEvent(e);
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, e);
  EXPECT_TRUE(IsCorruption(DecodeEvent(" " + bytes).status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"time\":5,\"kind\":\"system\",\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"time\":5,\"v\":2}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"time\":5,\"v\":1,\"x\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"account\":0,\"kind\":\"system\",\"time\":5,\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"nope\",\"time\":5,\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("not json").status()));
}

TEST(EventTest, NoSensitiveValuesInTheLog) {
  Event e;
  e.kind = EventKind::kDenial;
  e.justification = "NIR 1 85 05 78 006 084 36 et mail camille.martin@example.fr, dossier 12";
  e.details["note"] = "185057800608436";
  const std::string bytes = EncodeEvent(e);
  EXPECT_EQ(bytes.find("185057800608436"), std::string::npos);
  EXPECT_EQ(bytes.find("006 084"), std::string::npos);
  EXPECT_EQ(bytes.find("camille"), std::string::npos);
  EXPECT_EQ(bytes.find("example.fr"), std::string::npos);
  EXPECT_NE(bytes.find("dossier 12"), std::string::npos);
  EXPECT_EQ(RedactFreeText("appel au 2A0123456789012"), "appel au [redacted]");
  // Invalid UTF-8 is replaced, so every leaf is valid JSON.
  e.reason = std::string("bad \xff\xfe byte");
  EXPECT_TRUE(DecodeEvent(EncodeEvent(e)).ok());
}

}  // namespace
}  // namespace cloison::audit
