#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
            "\"source\":\"203.0.113.7\",\"time\":1700000000123456,\"v\":2}");
  Event minimal;
  minimal.time = 5;
  EXPECT_EQ(EncodeEvent(minimal), "{\"kind\":\"system\",\"time\":5,\"v\":2}");
  // Version 2's `numbers` sits between "kind" and "persons", keys sorted.
  minimal.numbers = {{"reset_at_micros", 1'700'000'000'123'456}, {"limit", 200}, {"delta", -3}};
  EXPECT_EQ(EncodeEvent(minimal),
            "{\"kind\":\"system\",\"numbers\":{\"delta\":-3,\"limit\":200,\"reset_at_micros\":1700000000123456},"
            "\"time\":5,\"v\":2}");
}

// Every control character, quotes, backslashes and multi-byte UTF-8, in
// runs and alone: escaped as JSON requires, and read back unchanged.
TEST(EventTest, EveryControlCharacterIsEscapedAndReadBack) {
  std::string text = "d\u00e9but \"q\" \\ ";
  for (int c = 1; c < 0x20; ++c) {
    text.push_back(static_cast<char>(c));
    text += "x";
  }
  text += "\x7f fin \xc3\xa9";
  Event e;
  e.time = 7;
  e.justification = text;
  const std::string bytes = EncodeEvent(e);
  EXPECT_NE(bytes.find("\\u0001x\\u0002x"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\\bx\\tx\\nx\\u000bx\\fx\\rx"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\\\"q\\\" \\\\ "), std::string::npos) << bytes;
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->justification, text);
  EXPECT_EQ(nlohmann::json::parse(bytes)["justification"], text);
}

TEST(EventTest, RoundTripAndCanonicalOnly) {
  const Event e = Sample();
  const std::string bytes = EncodeEvent(e);
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, e);
  EXPECT_TRUE(IsCorruption(DecodeEvent(" " + bytes).status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"time\":5,\"kind\":\"system\",\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"time\":5,\"v\":3}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"time\":5,\"v\":0}").status()));
  // numbers: integers only, sorted, and not in version 1.
  EXPECT_TRUE(DecodeEvent("{\"kind\":\"system\",\"numbers\":{\"a\":1,\"b\":-2},\"time\":5,\"v\":2}").ok());
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"numbers\":{\"b\":1,\"a\":2},\"time\":5,\"v\":2}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"numbers\":{\"a\":\"1\"},\"time\":5,\"v\":2}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"numbers\":{\"a\":1.5},\"time\":5,\"v\":2}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"numbers\":{},\"time\":5,\"v\":2}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"numbers\":{\"a\":1},\"time\":5,\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"system\",\"time\":5,\"v\":1,\"x\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"account\":0,\"kind\":\"system\",\"time\":5,\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("{\"kind\":\"nope\",\"time\":5,\"v\":1}").status()));
  EXPECT_TRUE(IsCorruption(DecodeEvent("not json").status()));
}

// Entries written before version 2 stay readable, byte for byte, even when
// they hold text that today's redaction would remove (a phone number was not
// redacted by version 1): decoding checks the form, not the redaction.
TEST(EventTest, VersionOneEntriesStillDecode) {
  const std::string v1 =
      "{\"account\":42,\"decision\":\"allow\",\"details\":{\"reset_at_micros\":\"[redacted]\"},\"fields\":[\"nom\"],"
      "\"justification\":\"rappeler au 0612345678\",\"kind\":\"read\",\"persons\":[9],\"time\":1700000000123456,\"v\":1}";
  int version = 0;
  auto e = DecodeEvent(v1, &version);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(version, 1);
  EXPECT_EQ(e->justification, "rappeler au 0612345678");
  EXPECT_EQ(e->details.at("reset_at_micros"), "[redacted]");
  EXPECT_TRUE(e->numbers.empty());
  // Re-encoding writes the current version, with today's redaction.
  const std::string v2 = EncodeEvent(*e);
  EXPECT_NE(v2.find("\"v\":2}"), std::string::npos);
  EXPECT_EQ(v2.find("0612345678"), std::string::npos);
  ASSERT_TRUE(DecodeEvent(v2, &version).ok());
  EXPECT_EQ(version, 2);
  // A version-1 entry must still be in version 1's one form.
  EXPECT_TRUE(IsCorruption(DecodeEvent(v1.substr(0, v1.size() - 1) + " }").status()));
}

// Machine numbers are exempt from redaction: a quota's reset time (16
// digits) would otherwise be taken for a NIR.
TEST(EventTest, NumbersAreNotRedacted) {
  Event e;
  e.kind = EventKind::kDenial;
  e.time = 1;
  e.numbers["reset_at_micros"] = 1'760'000'000'123'456;
  e.numbers["limit"] = 200;
  e.details["reset_at_micros_as_text"] = "1760000000123456";
  const std::string bytes = EncodeEvent(e);
  EXPECT_NE(bytes.find("\"reset_at_micros\":1760000000123456"), std::string::npos) << bytes;
  EXPECT_NE(bytes.find("\"reset_at_micros_as_text\":\"[redacted]\""), std::string::npos) << bytes;
  auto d = DecodeEvent(bytes);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->numbers, e.numbers);
}

TEST(EventTest, PhonesAndFranceTravailIdsAreRedacted) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      // French phone numbers: 10 digits from 0, in every usual spelling.
      {"rappeler au 0612345678 demain", "rappeler au [redacted] demain"},
      {"tel 06 12 34 56 78.", "tel [redacted]."},
      {"tel 06.12.34.56.78", "tel [redacted]"},
      {"tel 06-12-34-56-78", "tel [redacted]"},
      {"fixe 01 23 45 67 89, poste 12", "fixe [redacted], poste 12"},
      {"+33612345678", "[redacted]"},
      {"portable +33 6 12 34 56 78 (soir)", "portable [redacted] (soir)"},
      {"+33 (0)6 12 34 56 78", "[redacted]"},
      {"0033 6 12 34 56 78", "[redacted]"},
      {"UK +44 20 7946 0958", "UK [redacted]"},
      // France Travail ids: 11 digits, and the legacy 7 digits + letter.
      {"identifiant FT 12345678901 vérifié", "identifiant FT [redacted] vérifié"},
      {"id:12345678901", "id:[redacted]"},
      {"ancien identifiant 1234567A.", "ancien identifiant [redacted]."},
      {"(1234567Z)", "([redacted])"},
      // NIRs and e-mails, as before.
      {"NIR 1 85 05 78 006 084 36", "NIR [redacted]"},
      {"appel au 2A0123456789012", "appel au [redacted]"},
      {"mail camille.martin@example.fr ok", "mail [redacted] ok"},
      // Left alone: dates, times, small numbers, addresses, epoch seconds,
      // handles, words that merely contain digits.
      {"rendez-vous du 12/03/2024 à 14.30", "rendez-vous du 12/03/2024 à 14.30"},
      {"dossier 12, page 3 sur 250", "dossier 12, page 3 sur 250"},
      {"source 192.168.100.200", "source 192.168.100.200"},
      {"expires_at=1760000000", "expires_at=1760000000"},
      {"session s-0123456789abcdef", "session s-0123456789abcdef"},
      {"code ABC1234567D", "code ABC1234567D"},
      {"1234567AB", "1234567AB"},
      {"+3 points", "+3 points"},
      {"12345678", "12345678"},
  };
  for (const auto& c : cases) EXPECT_EQ(RedactFreeText(c.in), c.out) << c.in;
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
  // Every string member goes through the redaction, not only the texts.
  Event all;
  all.kind = EventKind::kRead;
  all.time = 1;
  all.session = "0612345678";
  all.source = "camille@example.fr";
  all.purpose = "suivi 12345678901";
  all.decision = "deny 1234567A";
  all.reason = "+33 6 12 34 56 78";
  all.fields = {"telephone 06 12 34 56 78"};
  all.details["0612345678"] = "x";
  all.numbers["12345678901"] = 1;
  const std::string b2 = EncodeEvent(all);
  for (const char* v : {"0612345678", "camille", "12345678901", "1234567A", "+33", "06 12"}) {
    EXPECT_EQ(b2.find(v), std::string::npos) << v << " in " << b2;
  }
  EXPECT_EQ(RedactFreeText("appel au 2A0123456789012"), "appel au [redacted]");
  // Invalid UTF-8 is replaced, so every leaf is valid JSON.
  e.reason = std::string("bad \xff\xfe byte");
  EXPECT_TRUE(DecodeEvent(EncodeEvent(e)).ok());
}

}  // namespace
}  // namespace cloison::audit
