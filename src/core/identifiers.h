// French identifier formats and their checks. Pure functions, no allocation
// on the check paths, safe from any thread.
//
// NIR (numéro d'inscription au répertoire, the social security number):
//   S YY MM DD CCC OOO KK  (15 characters)
//   S   sex: 1 male, 2 female (3, 4, 7, 8 for provisional/foreign-born numbers)
//   YY  last two digits of the birth year
//   MM  birth month 01-12; 20-42 or 50-99 when the month is unknown
//   DD  birth département: 01-95, 2A/2B (Corsica), 97x/98x (overseas: 3 digits,
//       then a 2-digit commune), 99 (born abroad: then a 3-digit country code)
//   CCC commune (INSEE) or country code, OOO order number 001-999
//   KK  key = 97 - (first 13 digits mod 97), Corsica's 2A/2B counted as 19/18.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cloison {

// Key of a NIR from its first 13 characters (2A/2B allowed), or nullopt when
// they are not of NIR shape.
std::optional<int> NirKey(std::string_view first13);
// Full check: shape, month, département, order number and key. The message
// names what is wrong ("NIR key does not match") and never echoes the value.
Status ValidateNir(std::string_view nir);
// Upper-cases and removes spaces ("1 85 05 2a 004 012 34" -> "185052A00401234").
std::string CanonicalNir(std::string_view nir);

bool IsValidEmail(std::string_view email);
// French numbers: 10 digits starting 0[1-9] ("0612345678"), spaces/dots
// allowed between pairs, or +33 followed by 9 digits.
bool IsValidFrenchPhone(std::string_view phone);
std::string CanonicalFrenchPhone(std::string_view phone);  // "0612345678"
bool IsMobilePhone(std::string_view canonical_phone);      // 06 or 07
bool IsValidFtId(std::string_view id);        // 11 digits
bool IsValidFtIdLegacy(std::string_view id);  // 7 digits + 1 upper-case letter
bool IsValidPostcode(std::string_view pc);    // 5 digits, 01000-98999

}  // namespace cloison
