#include "core/identifiers.h"

#include <gtest/gtest.h>

namespace cloison {
namespace {

// Keys computed independently (97 - n mod 97, 2A->19, 2B->18).
TEST(NirTest, KeyOfMainlandNir) {
  EXPECT_EQ(NirKey("1850578006084"), 91);
  EXPECT_TRUE(ValidateNir("185057800608491").ok());
}

TEST(NirTest, WrongKeyIsRejectedWithoutEchoingTheValue) {
  Status s = ValidateNir("185057800608492");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "NIR key does not match");
  EXPECT_EQ(std::string(s.message()).find("1850578"), std::string::npos);
}

TEST(NirTest, CorsicaUses19And18) {
  EXPECT_EQ(NirKey("290082A004012"), 17);
  EXPECT_EQ(NirKey("290082B004012"), 44);
  EXPECT_TRUE(ValidateNir("290082A00401217").ok());
  EXPECT_TRUE(ValidateNir("290082B00401244").ok());
  EXPECT_FALSE(ValidateNir("290082A00401244").ok());  // 2B's key on a 2A number
  EXPECT_FALSE(ValidateNir("290082000401217").ok());   // département 20 no longer exists
}

TEST(NirTest, BornAbroadUses99AndCountryCode) {
  // 99 + INSEE country code 350 (Maroc) + order 123.
  EXPECT_EQ(NirKey("1991099350123"), 5);
  EXPECT_TRUE(ValidateNir("199109935012305").ok());
}

TEST(NirTest, OverseasAndUnknownMonth) {
  EXPECT_EQ(NirKey("2050597412001"), 81);  // Réunion: 974 + commune 12
  EXPECT_TRUE(ValidateNir("205059741200181").ok());
  EXPECT_EQ(NirKey("1760399135123"), 1);   // born abroad, month 03
  EXPECT_TRUE(ValidateNir("176039913512301").ok());
}

TEST(NirTest, ShapeErrors) {
  EXPECT_FALSE(ValidateNir("").ok());
  EXPECT_FALSE(ValidateNir("18505780060849").ok());     // 14 chars
  EXPECT_FALSE(ValidateNir("585057800608491").ok());    // sex 5
  EXPECT_FALSE(ValidateNir("185137800608491").ok());    // month 13
  EXPECT_FALSE(ValidateNir("185050000608491").ok());    // département 00
  EXPECT_FALSE(ValidateNir("185057800600091").ok());    // order 000
  EXPECT_FALSE(ValidateNir("18505780060849X").ok());
  EXPECT_FALSE(NirKey("12345678901").has_value());
}

TEST(NirTest, Canonical) { EXPECT_EQ(CanonicalNir("2 90 08 2a 004 012 17"), "290082A00401217"); }

TEST(IdentifiersTest, Email) {
  EXPECT_TRUE(IsValidEmail("camille.martin@example.fr"));
  EXPECT_TRUE(IsValidEmail("a+b@sub.domaine.org"));
  EXPECT_FALSE(IsValidEmail("camille.martin@"));
  EXPECT_FALSE(IsValidEmail("@example.fr"));
  EXPECT_FALSE(IsValidEmail("a@@example.fr"));
  EXPECT_FALSE(IsValidEmail("a..b@example.fr"));
  EXPECT_FALSE(IsValidEmail("ab@example"));
  EXPECT_FALSE(IsValidEmail("ab@-example.fr"));
  EXPECT_FALSE(IsValidEmail("a b@example.fr"));
}

TEST(IdentifiersTest, Phone) {
  EXPECT_TRUE(IsValidFrenchPhone("0612345678"));
  EXPECT_TRUE(IsValidFrenchPhone("01 23 45 67 89"));
  EXPECT_TRUE(IsValidFrenchPhone("+33612345678"));
  EXPECT_EQ(CanonicalFrenchPhone("+33 6 12 34 56 78"), "0612345678");
  EXPECT_FALSE(IsValidFrenchPhone("0012345678"));
  EXPECT_FALSE(IsValidFrenchPhone("061234567"));
  EXPECT_FALSE(IsValidFrenchPhone("06123456789"));
  EXPECT_TRUE(IsMobilePhone("0712345678"));
  EXPECT_FALSE(IsMobilePhone("0123456789"));
}

TEST(IdentifiersTest, FranceTravailIds) {
  EXPECT_TRUE(IsValidFtId("12345678901"));
  EXPECT_FALSE(IsValidFtId("1234567890"));
  EXPECT_FALSE(IsValidFtId("1234567890A"));
  EXPECT_TRUE(IsValidFtIdLegacy("1234567A"));
  EXPECT_FALSE(IsValidFtIdLegacy("1234567a"));
  EXPECT_FALSE(IsValidFtIdLegacy("12345678"));
}

TEST(IdentifiersTest, Postcode) {
  EXPECT_TRUE(IsValidPostcode("67000"));
  EXPECT_TRUE(IsValidPostcode("20000"));
  EXPECT_TRUE(IsValidPostcode("97400"));
  EXPECT_FALSE(IsValidPostcode("00100"));
  EXPECT_FALSE(IsValidPostcode("6700"));
  EXPECT_FALSE(IsValidPostcode("99000"));
}

}  // namespace
}  // namespace cloison
