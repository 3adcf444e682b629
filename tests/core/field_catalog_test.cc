#include "core/field_catalog.h"

#include <gtest/gtest.h>

#include <fstream>

namespace cloison {
namespace {

TEST(FieldCatalogTest, ShippedCatalogLoadsAndMatchesTheFile) {
  const FieldCatalog& cat = FieldCatalog::Default();
  ASSERT_NE(cat.Find("nir"), nullptr);
  EXPECT_TRUE(cat.Find("nir")->encrypted());
  EXPECT_TRUE(cat.Find("nir")->blind_index);
  EXPECT_FALSE(cat.Find("nom")->encrypted());
  EXPECT_TRUE(cat.Find("date_naissance")->encrypted());
  EXPECT_EQ(cat.Find("email")->category, FieldCategory::kContact);
  auto from_file = FieldCatalog::LoadFile(std::string(CLOISON_SOURCE_DIR) + "/config/field_catalog.toml");
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->size(), cat.size());
}

TEST(FieldCatalogTest, ErrorsNameFileLineAndProblem) {
  auto c = FieldCatalog::Parse(R"(version = 1
[[field]]
name = "tel"
type = "phone"
category = "contact"
sensitivity = "personal"
)",
                               "my.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "my.toml:2: field 'tel': category contact must be sensitive");

  c = FieldCatalog::Parse("[[field]]\nname = \"x\"\ntype = \"blob\"\ncategory=\"identity\"\nsensitivity=\"personal\"\n",
                          "f.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "f.toml:1: field 'x': unknown type 'blob'");

  c = FieldCatalog::Parse("[[field]]\nname = \"x\"\nname = \"y\"\n", "g.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("g.toml:3"), std::string::npos) << c.status();

  c = FieldCatalog::Parse("[[field]]\nname = \"Bad-Name\"\n", "h.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("must match"), std::string::npos);

  c = FieldCatalog::Parse("[[field]]\nname=\"a\"\ntype=\"text\"\ncategory=\"identity\"\nsensitivity=\"personal\"\n"
                          "colour=\"red\"\n",
                          "i.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "i.toml:6: unknown field key 'colour'");
}

TEST(FieldCatalogTest, AddingAFieldIsACatalogChange) {
  auto c = FieldCatalog::Parse(R"(
[[field]]
name = "situation_handicap"
type = "enum"
category = "pathway"
sensitivity = "sensitive"
values = ["oui", "non"]
)",
                               "x.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const FieldDef* f = c->Find("situation_handicap");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(ValidateFieldValue(*f, "oui").ok());
  EXPECT_FALSE(ValidateFieldValue(*f, "peut-être").ok());
}

TEST(FieldCatalogTest, ValidateByType) {
  const FieldCatalog& cat = FieldCatalog::Default();
  EXPECT_TRUE(ValidateFieldValue(*cat.Find("nir"), "185057800608491").ok());
  Status s = ValidateFieldValue(*cat.Find("nir"), "185057800608492");
  EXPECT_EQ(s.message(), "field 'nir': NIR key does not match");
  EXPECT_FALSE(ValidateFieldValue(*cat.Find("date_naissance"), "2001-02-30").ok());
  EXPECT_FALSE(ValidateFieldValue(*cat.Find("email"), "x@").ok());
  EXPECT_FALSE(ValidateFieldValue(*cat.Find("nom"), "").ok());  // required
  EXPECT_TRUE(ValidateFieldValue(*cat.Find("nir"), "").ok());   // optional
  EXPECT_FALSE(ValidateFieldValue(*cat.Find("nom"), "Dupont\x01").ok());
  EXPECT_FALSE(ValidateFieldValue(*cat.Find("nom"), "\xc3\x28").ok());  // invalid UTF-8
  EXPECT_TRUE(ValidateFieldValue(*cat.Find("nom"), "Lefèvre-Ñúñez").ok());
  EXPECT_EQ(CanonicalizeFieldValue(*cat.Find("email"), "Camille@Example.FR"), "camille@example.fr");
}

}  // namespace
}  // namespace cloison
