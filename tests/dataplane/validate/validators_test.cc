// Validator tables: valid and invalid values per kind, the hard negatives every
// validator must reject, guard-page reads, and the phi_values generators run
// against the validators (1000 values per kind).
#include "dataplane/validate/validators.hh"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/support/guard_page.hh"
#include "tests/support/phi_values.hh"

namespace phigate::validate {
namespace {

struct vcase {
  validator v;
  const char* text;
  bool ok;
};

// Runs the validator on a copy placed against a PROT_NONE page, so any read past
// the end of the value faults.
bool guarded_validate(validator v, std::string_view text) {
  test::guarded_buffer buf(text);
  return validate(v, buf.data(), buf.size());
}

const std::vector<vcase>& table() {
  static const std::vector<vcase> t = {
      // SSN
      {validator::ssn, "123-45-6789", true},
      {validator::ssn, "123 45 6789", true},
      {validator::ssn, "123.45.6789", true},
      {validator::ssn, "123456789", true},
      {validator::ssn, "899-99-9998", true},
      {validator::ssn, "001-01-0001", true},
      {validator::ssn, "000-12-3456", false},  // area 000
      {validator::ssn, "666-12-3456", false},  // area 666
      {validator::ssn, "900-12-3456", false},  // area 9xx (ITIN range)
      {validator::ssn, "999-12-3456", false},
      {validator::ssn, "123-00-4567", false},  // group 00
      {validator::ssn, "123-45-0000", false},  // serial 0000
      {validator::ssn, "111-11-1111", false},  // all same
      {validator::ssn, "078-05-1120", false},  // Woolworth wallet card
      {validator::ssn, "219-09-9999", false},  // SSA advertisement
      {validator::ssn, "123-45 6789", false},  // mixed delimiters
      {validator::ssn, "123-456789", false},
      {validator::ssn, "12-345-6789", false},
      {validator::ssn, "123-45-678", false},
      {validator::ssn, "1234567890", false},
      {validator::ssn, "123/45/6789", false},
      {validator::ssn, "abc-de-fghi", false},
      // ITIN
      {validator::itin, "912-70-1234", true},
      {validator::itin, "900-50-0001", true},
      {validator::itin, "999 65 1234", true},
      {validator::itin, "988.88.1234", true},
      {validator::itin, "912921234", true},
      {validator::itin, "912-94-1234", true},
      {validator::itin, "912-99-1234", true},
      {validator::itin, "912-93-1234", false},  // 93 is not an ITIN group
      {validator::itin, "912-66-1234", false},
      {validator::itin, "912-89-1234", false},
      {validator::itin, "912-49-1234", false},
      {validator::itin, "812-70-1234", false},  // area must be 9xx
      {validator::itin, "912-70-0000", false},
      {validator::itin, "912-70.1234", false},
      // MBI
      {validator::mbi, "1EG4-TE5-MK73", true},
      {validator::mbi, "1EG4TE5MK73", true},
      {validator::mbi, "9AA0A00AA00", true},
      {validator::mbi, "2C34D56EF78", true},
      {validator::mbi, "1eg4te5mk73", true},  // folded; the expression decides case
      {validator::mbi, "0EG4TE5MK73", false},  // position 1 is 1-9
      {validator::mbi, "1SG4TE5MK73", false},  // S excluded
      {validator::mbi, "1LG4TE5MK73", false},
      {validator::mbi, "1OG4TE5MK73", false},
      {validator::mbi, "1IG4TE5MK73", false},
      {validator::mbi, "1BG4TE5MK73", false},
      {validator::mbi, "1ZG4TE5MK73", false},
      {validator::mbi, "1E14TE5MK73", true},   // position 3 may be numeric
      {validator::mbi, "1EGATE5MK73", false},  // position 4 numeric
      {validator::mbi, "1EG4-TE5MK73", false},  // one dash only
      {validator::mbi, "1EG-4TE-5MK73", false},
      {validator::mbi, "1EG4TE5MK7", false},
      {validator::mbi, "1EG4TE5MK7A", false},
      // NPI
      {validator::npi, "1234567893", true},
      {validator::npi, "1987654328", true},
      {validator::npi, "2345678900", true},
      {validator::npi, "1234567890", false},
      {validator::npi, "3234567893", false},  // must start with 1 or 2
      {validator::npi, "123456789", false},
      {validator::npi, "12345678930", false},
      {validator::npi, "1700000000", false},
      {validator::npi, "123456789X", false},
      // DEA
      {validator::dea, "AB1234563", true},
      {validator::dea, "BJ6125341", true},
      {validator::dea, "F97654329", true},  // second char 9 (no surname initial)
      {validator::dea, "ab1234563", true},  // case-insensitive
      {validator::dea, "XK1112224", true},
      {validator::dea, "AB1234567", false},
      {validator::dea, "IB1234563", false},  // I is not a registrant type
      {validator::dea, "NB1234563", false},
      {validator::dea, "A81234563", false},  // second char digit other than 9
      {validator::dea, "AB123456", false},
      {validator::dea, "AB12345634", false},
      // Luhn
      {validator::luhn, "4111111111111111", true},
      {validator::luhn, "4111 1111 1111 1111", true},
      {validator::luhn, "4111-1111-1111-1111", true},
      {validator::luhn, "378282246310005", true},
      {validator::luhn, "3782 822463 10005", true},
      {validator::luhn, "6011111111111117", true},
      {validator::luhn, "5555555555554444", true},
      {validator::luhn, "4222222222222", true},        // 13 digits
      {validator::luhn, "6304000000000000001", false},  // 19 digits, bad check
      {validator::luhn, "4111111111111112", false},
      {validator::luhn, "4111-1111 1111-1111", false},  // mixed separators
      {validator::luhn, "4111--1111-1111-1111", false},
      {validator::luhn, "-4111111111111111", false},
      {validator::luhn, "4111111111111111-", false},
      {validator::luhn, "0000000000000", false},   // all same
      {validator::luhn, "4444444444444444", false},
      {validator::luhn, "79927398713", false},         // Luhn-valid but 11 digits
      {validator::luhn, "41111111111111111111", false},  // 20 digits
      // IBAN
      {validator::iban, "DE89370400440532013000", true},
      {validator::iban, "DE89 3704 0044 0532 0130 00", true},
      {validator::iban, "GB82WEST12345698765432", true},
      {validator::iban, "GB82 WEST 1234 5698 7654 32", true},
      {validator::iban, "NL91ABNA0417164300", true},
      {validator::iban, "FR1420041010050500013M02606", true},
      {validator::iban, "NO9386011117947", true},
      {validator::iban, "de89370400440532013000", true},  // folded
      {validator::iban, "DE89370400440532013001", false},  // mod 97
      {validator::iban, "DE8937040044053201300", false},   // length for DE
      {validator::iban, "XX89370400440532013000", false},  // unknown country
      {validator::iban, "DE89 37040044 0532 0130 00", false},
      {validator::iban, "DE89  3704 0044 0532 0130 00", false},
      {validator::iban, "DE89 3704 0044 0532 0130 00 ", false},
      {validator::iban, "DEAB370400440532013000", false},
      // ABA
      {validator::aba, "011000015", true},
      {validator::aba, "021000021", true},
      {validator::aba, "322271627", true},
      {validator::aba, "121000358", true},
      {validator::aba, "011000016", false},
      {validator::aba, "123456789", false},
      {validator::aba, "131000025", false},  // prefix 13 unassigned
      {validator::aba, "000000000", false},
      {validator::aba, "01100001", false},
      // VIN
      {validator::vin, "1HGCM82633A004352", true},
      {validator::vin, "1M8GDM9AXKP042788", true},  // check digit X
      {validator::vin, "5YJSA1E27HF000337", true},
      {validator::vin, "1hgcm82633a004352", true},
      {validator::vin, "1HGCM82633A004353", false},
      {validator::vin, "11111111111111111", false},  // no letter: not a VIN
      {validator::vin, "1HGCM82633U004352", false},  // model year U
      {validator::vin, "1HGCM8263IA004352", false},  // I
      {validator::vin, "1HGCM82633A00435", false},
      // NANP phone (555-01xx fictional numbers are valid on purpose)
      {validator::nanp_phone, "(555) 012-3456", true},
      {validator::nanp_phone, "555-012-3456", true},
      {validator::nanp_phone, "555.012.3456", true},
      {validator::nanp_phone, "+1 555 012 3456", true},
      {validator::nanp_phone, "212-555-0123", true},
      {validator::nanp_phone, "(212)555-0123", true},
      {validator::nanp_phone, "+1 (312) 555-0142", true},
      {validator::nanp_phone, "1-800-555-0199", true},
      {validator::nanp_phone, "+15550123456", true},
      {validator::nanp_phone, "2125550123", true},
      {validator::nanp_phone, "212 555-0123", true},
      {validator::nanp_phone, "012-555-0123", false},  // area starts with 0
      {validator::nanp_phone, "112-555-0123", false},
      {validator::nanp_phone, "911-555-0123", false},  // N11
      {validator::nanp_phone, "212-055-0123", false},  // exchange starts with 0
      {validator::nanp_phone, "212-155-0123", false},
      {validator::nanp_phone, "555-012.3456", false},  // mixed separators
      {validator::nanp_phone, "555012-3456", false},
      {validator::nanp_phone, "+2 555 012 3456", false},
      {validator::nanp_phone, "222-222-2222", false},
      {validator::nanp_phone, "(555 012-3456", false},
      {validator::nanp_phone, "555-012-34567", false},
      {validator::nanp_phone, "555-0123", false},
      // email
      {validator::email, "john.doe@example.com", true},
      {validator::email, "p.jones+rx@example.net", true},
      {validator::email, "mary_smith42@mail.example.org", true},
      {validator::email, "a@b.co", true},
      {validator::email, "user@localhost", false},
      {validator::email, "a@b.c", false},
      {validator::email, "john..doe@example.com", false},
      {validator::email, ".john@example.com", false},
      {validator::email, "john.@example.com", false},
      {validator::email, "john@example.c0m", false},
      {validator::email, "john@-example.com", false},
      {validator::email, "john@example..com", false},
      {validator::email, "john@@example.com", false},
      {validator::email, "@example.com", false},
      {validator::email, "john doe@example.com", false},
      // url
      {validator::url, "https://example.com/patients/123456", true},
      {validator::url, "http://portal.example.net:8443/records?id=42&view=full", true},
      {validator::url, "www.example.org", true},
      {validator::url, "ftp://files.example.com/", true},
      {validator::url, "HTTPS://EXAMPLE.COM", true},
      {validator::url, "http://192.0.2.1/x", true},
      {validator::url, "example.com", false},
      {validator::url, "http://localhost:8080/x", false},
      {validator::url, "https://example.com:99999/", false},
      {validator::url, "mailto:john@example.com", false},
      {validator::url, "https://exa mple.com", false},
      {validator::url, "https://example.com/a b", false},
      {validator::url, "www.example", false},
      // ipv4
      {validator::ipv4, "192.0.2.1", true},
      {validator::ipv4, "203.0.113.254", true},
      {validator::ipv4, "0.0.0.0", true},
      {validator::ipv4, "255.255.255.255", true},
      {validator::ipv4, "010.001.002.003", true},  // leading zeros accepted
      {validator::ipv4, "256.1.1.1", false},
      {validator::ipv4, "1.2.3", false},
      {validator::ipv4, "1.2.3.4.5", false},
      {validator::ipv4, "1.2..4", false},
      {validator::ipv4, "1.2.3.4.", false},
      {validator::ipv4, "1234.1.1.1", false},
      // ipv6
      {validator::ipv6, "2001:db8::1", true},
      {validator::ipv6, "2001:0db8:85a3:0000:0000:8a2e:0370:7334", true},
      {validator::ipv6, "::ffff:192.0.2.128", true},
      {validator::ipv6, "2001:db8::", true},
      {validator::ipv6, "2001:DB8:0:0:8:800:200C:417A", true},
      {validator::ipv6, "12:30:45", false},  // clock time
      {validator::ipv6, "1::2", false},       // digits-only, time-like
      {validator::ipv6, "2001:db8", false},   // one colon
      {validator::ipv6, "00:1A:2B:3C:4D:5E", false},  // MAC address
      {validator::ipv6, "2001:db8:::1", false},
      {validator::ipv6, "2001:db8::g", false},
      {validator::ipv6, "1:2:3:4:5:6:7:8:9", false},
      // date
      {validator::date, "2024-02-29", true},
      {validator::date, "2000-02-29", true},
      {validator::date, "1985-07-04T14:30:00Z", true},
      {validator::date, "2024-01-01T00:00:00.123+00:00", true},
      {validator::date, "2024-01-01 12:30", true},
      {validator::date, "2023/11/05", true},
      {validator::date, "3/15/2024", true},
      {validator::date, "03/15/1961", true},
      {validator::date, "12/31/99", true},
      {validator::date, "2/29/24", true},
      {validator::date, "02-29-2024", true},
      {validator::date, "25/12/2024", true},  // day-first accepted
      {validator::date, "March 3, 2024", true},
      {validator::date, "Mar 3rd, 2024", true},
      {validator::date, "Mar. 3, 2024", true},
      {validator::date, "3 March 2024", true},
      {validator::date, "29th of February 2024", true},
      {validator::date, "Sept. 14 1999", true},
      {validator::date, "december 31, 2099", true},
      {validator::date, "2023-02-29", false},
      {validator::date, "1900-02-29", false},  // 1900 is not a leap year
      {validator::date, "2024-13-01", false},
      {validator::date, "2024-02-30", false},
      {validator::date, "1850-01-01", false},  // outside 1900-2099
      {validator::date, "2100-01-01", false},
      {validator::date, "2024-01-01T25:00", false},
      {validator::date, "2024-01-01X", false},
      {validator::date, "13/45/2020", false},
      {validator::date, "02/29/2023", false},
      {validator::date, "2/29/23", false},
      {validator::date, "2/30/2024", false},
      {validator::date, "3/15-2024", false},
      {validator::date, "1/2", false},
      {validator::date, "120/80", false},
      {validator::date, "1/2/3", false},
      {validator::date, "February 30, 2024", false},
      {validator::date, "March 2024", false},
      {validator::date, "29 Feb 2023", false},
      {validator::date, "Marc 3, 2024", false},
      {validator::date, "Mar 3xx, 2024", false},
      // zip
      {validator::zip, "94110", true},
      {validator::zip, "02139-4307", true},
      {validator::zip, "00501", true},
      {validator::zip, "00000", false},
      {validator::zip, "1234", false},
      {validator::zip, "123456", false},
      {validator::zip, "12345-678", false},
      {validator::zip, "12345 6789", false},
      // none accepts whatever the shape matched
      {validator::none, "anything", true},
  };
  return t;
}

TEST(Validators, TableGuarded) {
  for (const auto& c : table()) {
    EXPECT_EQ(guarded_validate(c.v, c.text), c.ok)
        << validator_name(c.v) << " on \"" << c.text << "\"";
  }
}

// Every kind has at least two valid and two invalid rows.
TEST(Validators, TableCoversEveryValidator) {
  int valid[validator_count] = {};
  int invalid[validator_count] = {};
  for (const auto& c : table()) (c.ok ? valid : invalid)[static_cast<size_t>(c.v)]++;
  for (size_t i = 1; i < validator_count; ++i) {
    EXPECT_GE(valid[i], 2) << validator_name(static_cast<validator>(i));
    EXPECT_GE(invalid[i], 2) << validator_name(static_cast<validator>(i));
  }
}

// Prefixes of valid values: a truncated span (as the engine sees before the
// rest arrives) must never read past its end, and the empty span never validates.
TEST(Validators, PrefixesNeverReadPastEnd) {
  for (const auto& c : table()) {
    const std::string s = c.text;
    for (size_t n = 0; n <= s.size(); ++n) {
      test::guarded_buffer buf(std::string_view(s).substr(0, n));
      const bool r = validate(c.v, buf.data(), buf.size());
      if (n == 0 && c.v != validator::none) {
        EXPECT_FALSE(r);
      }
    }
  }
}

TEST(Validators, NullAndEmpty) {
  for (size_t i = 1; i < validator_count; ++i)
    EXPECT_FALSE(validate(static_cast<validator>(i), nullptr, 0));
  EXPECT_TRUE(validate(validator::none, nullptr, 0));
}

TEST(Validators, NonAsciiBytesFail) {
  const std::string fullwidth_dash = "123\xef\xbc\x8d" "45-6789";  // not normalized
  EXPECT_FALSE(validate(validator::ssn, fullwidth_dash));
  EXPECT_FALSE(validate(validator::email, "j\xc3\xb6rg@example.com"));
  EXPECT_FALSE(validate(validator::date, "March\xc2\xa0" "3, 2024"));
}

TEST(Validators, NamesRoundTrip) {
  std::set<std::string> seen;
  for (size_t i = 0; i < validator_count; ++i) {
    const auto v = static_cast<validator>(i);
    const std::string name = validator_name(v);
    EXPECT_TRUE(seen.insert(name).second) << name;
    validator back = validator::zip;
    ASSERT_TRUE(validator_from_name(name, back)) << name;
    EXPECT_EQ(back, v);
  }
  validator out = validator::dea;
  EXPECT_FALSE(validator_from_name("SSN", out));  // exact, lower case only
  EXPECT_FALSE(validator_from_name("", out));
  EXPECT_FALSE(validator_from_name("credit_card", out));
  EXPECT_EQ(out, validator::dea);
  EXPECT_STREQ(validator_name(static_cast<validator>(200)), "unknown");
  const char* names[] = {"none", "ssn", "itin", "mbi", "npi", "dea", "luhn", "iban", "aba",
                         "vin", "nanp_phone", "email", "url", "ipv4", "ipv6", "date", "zip"};
  for (const char* n : names) EXPECT_TRUE(validator_from_name(n, out)) << n;
}

// The hard-negative families from GUIDE section 4: no validator accepts them whole.
TEST(Validators, HardNegativesRejectedByEveryValidator) {
  const char* negatives[] = {
      "550e8400-e29b-41d4-a716-446655440000",      // UUID
      "550E8400-E29B-41D4-A716-446655440000",
      "d41d8cd98f00b204e9800998ecf8427e",          // MD5
      "da39a3ee5e6b4b0d3255bfef95601890afd80709",  // SHA-1
      "SGVsbG8gV29ybGQhIFRoaXMgaXM=",              // base64
      "1.2.3",
      "10.0.19045.1234",
      "v2.14.0-rc1",
      "Na 140 mmol/L",
      "K 4.1 mmol/L",
      "1/2 tab",
      "1/2",
      "120/80",
      "E11.9",
      "J45.909",
      "0002-3227-30",
      "50580-506-02",
      "1700000000",
      "1700000000123",
      "-0.0123",
      "-1.2345e-05",
      "[15339, 1917, 0, 271]",
  };
  for (const char* n : negatives) {
    for (size_t i = 1; i < validator_count; ++i) {
      const auto v = static_cast<validator>(i);
      EXPECT_FALSE(guarded_validate(v, n)) << validator_name(v) << " accepted \"" << n << "\"";
    }
  }
}

// Regression: checksums alone cannot reject every epoch timestamp. 1700000007 is a
// valid NPI checksum, which is why the catalog gates NPI with context keywords and
// the bare payment-card shape must start with 2-6.
TEST(Validators, SomeTimestampsPassChecksumsSoCatalogMustGateThem) {
  EXPECT_TRUE(validate(validator::npi, "1700000007"));
  EXPECT_TRUE(validate(validator::luhn, "1700000000004"));
}

// Random strings over the characters validators care about, each placed against a
// guard page and fed to every validator: no crash, no read past the end, and the
// result does not depend on bytes after the span.
TEST(Validators, RandomInputsStayInBounds) {
  std::mt19937_64 rng(31337);
  const std::string alphabet = "0123456789-. /:()+@,#?xXTZABIOQSsthndr\x1f\x80\xff";
  for (int i = 0; i < 4000; ++i) {
    std::string s;
    const size_t n = rng() % 48;
    for (size_t k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    test::guarded_buffer buf(s);
    std::string longer = s + "0000";
    for (size_t v = 0; v < validator_count; ++v) {
      const auto kind = static_cast<validator>(v);
      const bool r = validate(kind, buf.data(), buf.size());
      EXPECT_EQ(r, validate(kind, reinterpret_cast<const uint8_t*>(longer.data()), s.size()));
    }
  }
}

// ------------------------------------------------------------ phi_values

TEST(PhiValues, ThousandGeneratedValuesOfEachKindValidate) {
  std::mt19937_64 rng(20240229);
  const auto kinds = test::phi_kinds();
  ASSERT_GE(kinds.size(), 19u);
  for (const auto& kind : kinds) {
    validator v = validator::none;
    ASSERT_TRUE(validator_from_name(test::phi_validator_name(kind), v)) << kind;
    std::set<std::string> distinct;
    for (int i = 0; i < 1000; ++i) {
      const test::phi_value pv = test::make_phi(kind.c_str(), rng);
      ASSERT_NE(pv.entity, nullptr);
      ASSERT_TRUE(guarded_validate(v, pv.text)) << kind << ": \"" << pv.text << "\"";
      distinct.insert(pv.text);
    }
    EXPECT_GT(distinct.size(), 50u) << kind << " generator barely varies";
  }
}

TEST(PhiValues, DeterministicForASeed) {
  std::mt19937_64 a(7), b(7);
  for (const auto& kind : test::phi_kinds())
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(test::make_phi(kind.c_str(), a).text, test::make_phi(kind.c_str(), b).text);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(test::make_hard_negative(a), test::make_hard_negative(b));
}

TEST(PhiValues, AliasesAndUnknownKinds) {
  std::mt19937_64 rng(1);
  EXPECT_STREQ(test::make_phi("ip_address", rng).entity, "ip_address");
  EXPECT_STREQ(test::make_phi("luhn", rng).entity, "credit_card");
  EXPECT_STREQ(test::make_phi("nanp_phone", rng).entity, "phone");
  EXPECT_THROW(test::make_phi("no_such_kind", rng), std::invalid_argument);
  EXPECT_STREQ(test::phi_context_prefix("npi"), "NPI: ");
  EXPECT_STREQ(test::phi_context_prefix("ssn"), "");
}

TEST(PhiValues, ReservedRangesOnly) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 300; ++i) {
    const std::string phone = test::make_phi("phone", rng).text;
    EXPECT_NE(phone.find("555"), std::string::npos) << phone;
    const std::string email = test::make_phi("email", rng).text;
    EXPECT_NE(email.find("@"), std::string::npos);
    EXPECT_NE(email.find("example."), std::string::npos) << email;
    const test::phi_value v4 = test::make_phi("ipv4", rng);
    const std::string_view net = std::string_view(v4.text).substr(0, v4.text.rfind('.') + 1);
    EXPECT_TRUE(net == "192.0.2." || net == "198.51.100." || net == "203.0.113.") << v4.text;
    std::string v6 = test::make_phi("ipv6", rng).text;
    for (auto& c : v6) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(v6.rfind("2001:db8:", 0), 0u) << v6;
    EXPECT_NE(test::make_phi("url", rng).text.find("example."), std::string::npos);
  }
}

}  // namespace
}  // namespace phigate::validate
