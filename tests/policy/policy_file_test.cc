#include "policy/policy.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/strings.h"

namespace cloison::policy {
namespace {

constexpr std::string_view kBase = R"(version = 1
[purpose.accompaniment]
[purpose.statistics]
aggregates_only = true
[purpose.investigation]
break_glass = true
requires_justification = true
dual_control = true
[purpose.sync]
integration = true
[role.counsellor]
read_people = true
[role.access_manager]
manage_accounts = true
[[rule]]
id = "r1"
role = "counsellor"
relation = "followed"
purpose = "accompaniment"
fields = ["nom"]
)";

// 1-based line of the first line of `text` containing `needle`.
int LineOf(std::string_view text, std::string_view needle) {
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string_view::npos) << needle;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST(PolicyFileTest, TheShippedPolicyIsValidAndCompiledIn) {
  const Policy& p = Policy::Default();
  EXPECT_GE(p.rules().size(), 8u);
  for (const char* name : {"accompaniment", "training_orientation", "training_enrolment", "statistics",
                           "investigation", "enrolment_sync"})
    EXPECT_TRUE(p.FindPurpose(name)) << name;
  EXPECT_TRUE(p.purpose(*p.FindPurpose("statistics")).aggregates_only);
  EXPECT_TRUE(p.purpose(*p.FindPurpose("investigation")).break_glass);
  EXPECT_TRUE(p.purpose(*p.FindPurpose("investigation")).dual_control);
  EXPECT_TRUE(p.role(Role::kCounsellor).read_people);
  EXPECT_FALSE(p.role(Role::kAuditor).read_people);
  EXPECT_TRUE(p.role(Role::kSecurityOfficer).approve);
  ASSERT_TRUE(p.quota(Role::kPartnerUser));
  EXPECT_EQ(p.quota(Role::kPartnerUser)->page_size, 25);
  ASSERT_TRUE(p.technical_quota());
  EXPECT_FALSE(p.quota(Role::kAuditor));
  // Rule lines point into config/policy.toml.
  EXPECT_GT(p.rules()[0].line, 10);
  EXPECT_EQ(p.source(), "config/policy.toml");
}

TEST(PolicyFileTest, LoadsTheConfigFileWithItsCatalogReference) {
  auto p = Policy::LoadFile(StrCat(CLOISON_SOURCE_DIR, "/config/policy.toml"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->catalog().size(), FieldCatalog::Default().size());
  EXPECT_EQ(p->rules().size(), Policy::Default().rules().size());
}

TEST(PolicyFileTest, CategoriesExpandAndNirStaysRevealOnly) {
  std::string text(kBase);
  text += "[[rule]]\nid = \"r2\"\nrole = \"counsellor\"\nrelation = \"referent\"\npurpose = \"accompaniment\"\n"
          "categories = [\"contact\"]\nreveal = [\"nir\"]\n";
  auto p = Policy::Parse(text, "t.toml");
  ASSERT_TRUE(p.ok()) << p.status();
  const Rule& r = p->rules()[1];
  EXPECT_EQ(p->FieldNames(r.fields), "email, telephone, adresse, code_postal, commune");
  EXPECT_EQ(p->FieldNames(r.reveal), "nir");
  EXPECT_EQ(p->RulesFor(*p->FindPurpose("accompaniment")).size(), 2u);
}

struct BadCase {
  const char* name;
  std::string replace;  // text replacing `find` in kBase ("" find = append)
  std::string find;
  std::string line_of;  // marker whose line the error must name ("" = no line)
  std::string message;  // expected substring
};

TEST(PolicyFileTest, BadFilesGivePreciseErrors) {
  const std::string rule2 = "[[rule]]\nid = \"r2\"\nrole = \"counsellor\"\nrelation = \"followed\"\n";
  const std::vector<BadCase> cases = {
      {"unknown field", "fields = [\"nom\", \"nirr\"]", "fields = [\"nom\"]", "\"nirr\"",
       "rule 'r1': unknown field 'nirr' (not in the field catalog)"},
      {"unknown role", "role = \"janitor\"", "role = \"counsellor\"", "janitor", "rule 'r1': unknown role 'janitor'"},
      {"unknown purpose", "purpose = \"curiosity\"\nfields", "purpose = \"accompaniment\"\nfields", "curiosity",
       "rule 'r1': unknown purpose 'curiosity'"},
      {"unknown relation", "relation = \"friend\"", "relation = \"followed\"", "friend",
       "rule 'r1': unknown relation 'friend'"},
      {"unknown category", "categories = [\"secret\"]", "fields = [\"nom\"]", "secret", "unknown category 'secret'"},
      {"role that may not read", "role = \"access_manager\"", "role = \"counsellor\"", "role = \"access_manager\"",
       "role 'access_manager' may not read people"},
      {"role without table", "role = \"dpo\"", "role = \"counsellor\"", "role = \"dpo\"",
       "role 'dpo' has no [role.dpo] table"},
      {"nir released plainly", "fields = [\"nom\", \"nir\"]", "fields = [\"nom\"]", "\"nir\"",
       "field 'nir' (category nir) may only be released through 'reveal'"},
      {"nir by category", "categories = [\"nir\"]", "fields = [\"nom\"]", "categories",
       "may only be released through 'reveal'"},
      {"aggregates with contact", "purpose = \"statistics\"\nfields = [\"sexe\", \"email\"]",
       "purpose = \"accompaniment\"\nfields = [\"nom\"]", "\"email\"",
       "aggregates_only purpose 'statistics' may not release field 'email'"},
      {"aggregates with reveal", "purpose = \"statistics\"\nfields = [\"sexe\"]\nreveal = [\"nir\"]",
       "purpose = \"accompaniment\"\nfields = [\"nom\"]", "reveal", "an aggregates_only purpose cannot reveal"},
      {"any without break glass", "relation = \"any\"", "relation = \"followed\"", "\"any\"",
       "relation 'any' is allowed only for a break_glass purpose"},
      {"integration purpose for humans", "purpose = \"sync\"\nfields", "purpose = \"accompaniment\"\nfields", "\"sync\"",
       "integration purpose 'sync' is for technical accounts only"},
      {"technical rule with a human purpose", "account_kind = \"technical\"", "role = \"counsellor\"",
       "purpose = \"accompaniment\"\nfields", "a technical rule needs an integration purpose"},
      {"technical rule with a role", "role = \"counsellor\"\naccount_kind = \"technical\"", "role = \"counsellor\"",
       "role = \"counsellor\"\naccount_kind", "a technical rule names no role"},
      {"bad account kind", "account_kind = \"robot\"", "role = \"counsellor\"", "robot",
       "account_kind must be \"human\" or \"technical\""},
      {"orientation without statuses", "relation = \"orientation\"", "relation = \"followed\"", "[[rule]]",
       "relation 'orientation' needs 'orientation_statuses'"},
      {"unknown status", "relation = \"orientation\"\norientation_statuses = [\"accepted\", \"maybe\"]",
       "relation = \"followed\"", "orientation_statuses", "unknown orientation status 'maybe'"},
      {"statuses on followed", "orientation_statuses = [\"accepted\"]\nfields", "fields", "orientation_statuses",
       "'orientation_statuses' applies only to relation 'orientation'"},
      {"child structures on referent", "relation = \"referent\"\ninclude_child_structures = true",
       "relation = \"followed\"", "include_child_structures",
       "include_child_structures applies only to relations followed and orientation"},
      {"bool as string", "include_child_structures = \"yes\"\nfields", "fields", "include_child_structures",
       "'include_child_structures' must be true or false"},
      {"days out of range", "relation = \"orientation\"\norientation_statuses = [\"enrolled\"]\n"
                            "days_after_session_end = 999",
       "relation = \"followed\"", "days_after_session_end", "'days_after_session_end' must be between 0 and 366"},
      {"unknown structure kind", "structure_kinds = [\"castle\"]\nfields", "fields", "castle",
       "unknown structure kind 'castle'"},
      {"typo in a rule key", "feilds = [\"nom\"]", "fields = [\"nom\"]", "feilds", "rule 'r1': unknown key 'feilds'"},
      {"no fields", "", "fields = [\"nom\"]\n", "[[rule]]", "rule 'r1': releases no field"},
      {"rule without id", "", "id = \"r1\"\n", "[[rule]]", "rule without an 'id'"},
      {"rule without relation", "", "relation = \"followed\"\n", "[[rule]]", "rule 'r1': missing 'relation'"},
      {"duplicate rule id", "", "", "id = \"r1\"\nrole = \"counsellor\"\nrelation = \"followed\"\npurpose = \"accompaniment\"\nfields = [\"prenom\"]",
       "duplicate rule id 'r1' (first at line 15)"},
      {"unknown top-level key", "polcy_version = 2\n[purpose.accompaniment]", "[purpose.accompaniment]",
       "polcy_version", "unknown key 'polcy_version'"},
      {"unknown purpose key", "[purpose.statistics]\naggregate_only = true", "[purpose.statistics]\naggregates_only = true",
       "aggregate_only", "purpose 'statistics': unknown key 'aggregate_only'"},
      {"break glass without justification", "break_glass = true\nrequires_justification = false",
       "break_glass = true\nrequires_justification = true", "[purpose.investigation]",
       "a break_glass purpose must set requires_justification = true"},
      {"unknown role table", "[role.janitor]\nread_people = true\n[role.counsellor]", "[role.counsellor]",
       "[role.janitor]", "unknown role 'janitor'"},
      {"reader who manages accounts", "manage_accounts = true\nread_people = true", "manage_accounts = true",
       "[role.access_manager]", "a role that manages accounts may not read people"},
      {"quota for unknown role", "[quota.intern]\npeople_per_day = 3\n[[rule]]", "[[rule]]", "[quota.intern]",
       "quota for unknown role 'intern'"},
      {"quota hour above day", "[quota.counsellor]\npeople_per_hour = 300\npeople_per_day = 100\n[[rule]]",
       "[[rule]]", "[quota.counsellor]", "people_per_hour (300) exceeds people_per_day (100)"},
      {"negative quota", "[quota.counsellor]\npage_size = -1\n[[rule]]", "[[rule]]", "page_size",
       "'page_size' must be between 0 and 1000000000, not -1"},
      {"toml syntax", "fields = [\"nom\"", "fields = [\"nom\"]", "fields = [\"nom\"", ""},
      {"wrong version", "version = 2", "version = 1", "version = 2", "unsupported policy version"},
      {"missing catalog", "version = 1\ncatalog = \"nope.toml\"", "version = 1", "nope.toml",
       "catalog 'nope.toml': "},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string text(kBase);
    if (c.find.empty() && c.replace.empty()) {
      text += StrCat("[[rule]]\n", c.line_of, "\n");
    } else {
      const size_t at = text.find(c.find);
      ASSERT_NE(at, std::string::npos) << c.find;
      text.replace(at, c.find.size(), c.replace);
    }
    auto p = Policy::Parse(text, "t.toml", nullptr, "/nonexistent-dir");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(MessageOf(p.status()));
    const std::string marker = c.find.empty() && c.replace.empty() ? "id = \"r1\"\nrole = \"counsellor\"\nrelation = \"followed\"\npurpose = \"accompaniment\"\nfields = [\"prenom\"]" : c.line_of;
    // For appended rules the marker's last occurrence is the one at fault.
    int line = LineOf(text, marker);
    if (c.find.empty() && c.replace.empty()) line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + text.rfind(marker), '\n'));
    EXPECT_EQ(msg.rfind(StrCat("t.toml:", line, ": "), 0), 0u) << msg;
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
  }
}

TEST(PolicyFileTest, ErrorsWithoutALine) {
  auto p = Policy::Parse("version = 1\n", "empty.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(MessageOf(p.status()), "empty.toml: no [purpose.NAME] defined");
  p = Policy::Parse("[purpose.a]\n", "norules.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(MessageOf(p.status()), "norules.toml: no [[rule]] defined: nobody could read anything");
  auto f = Policy::LoadFile("/nonexistent/policy.toml");
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MessageOf(f.status()), "/nonexistent/policy.toml: cannot open policy file");
}

TEST(PolicyFileTest, FileErrorsNameThePath) {
  const std::string dir = ::testing::TempDir() + "/policy_file_test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bad.toml";
  std::string text(kBase);
  text.replace(text.find("fields = [\"nom\"]"), 16, "fields = [\"nom\", \"iban\"]");
  std::ofstream(path) << text;
  auto p = Policy::LoadFile(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(MessageOf(p.status()), StrCat(path, ":20: rule 'r1': unknown field 'iban' (not in the field catalog)"));
  // A catalog next to the file is found relative to it.
  std::filesystem::copy_file(StrCat(CLOISON_SOURCE_DIR, "/config/field_catalog.toml"), dir + "/cat.toml",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(path) << "catalog = \"cat.toml\"\n" << kBase;
  EXPECT_TRUE(Policy::LoadFile(path).ok());
}

}  // namespace
}  // namespace cloison::policy
