// PHI validators. Design notes:
// - Every function is a pure parser over (text, len): it never reads outside the
//   span, never allocates, never throws. Scratch lives on the stack, bounded by the
//   longest value each kind can have.
// - Validators check *format and checksum*, not the surrounding text: context
//   keywords and word boundaries belong to the pattern expression and the engine.
//   A validator therefore accepts every surface form its expressions may produce
//   (e.g. bare 10-digit phones), and the catalog decides which forms need context.
// - Where the rules in GUIDE section 4 leave room, the choice is the one that masks
//   more (fail closed), unless it would make a listed hard negative validate.
#include "dataplane/validate/validators.hh"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace phigate::validate {
namespace {

constexpr bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
constexpr bool is_upper(uint8_t c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_lower(uint8_t c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_alpha(uint8_t c) { return is_upper(c) || is_lower(c); }
constexpr bool is_alnum(uint8_t c) { return is_digit(c) || is_alpha(c); }
constexpr uint8_t to_upper(uint8_t c) { return is_lower(c) ? static_cast<uint8_t>(c - 32) : c; }
constexpr uint8_t to_lower(uint8_t c) { return is_upper(c) ? static_cast<uint8_t>(c + 32) : c; }
constexpr int dval(uint8_t c) { return c - '0'; }

// Value of `n` decimal digits starting at p (caller checked they are digits).
int num(const uint8_t* p, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + dval(p[i]);
  return v;
}

bool all_digits(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!is_digit(p[i])) return false;
  return true;
}

// True if every element of the digit array is the same digit ("111-11-1111").
bool all_same(const uint8_t* d, size_t n) {
  for (size_t i = 1; i < n; ++i)
    if (d[i] != d[0]) return false;
  return true;
}

// Luhn over digit *values* (0..9), rightmost digit is the check digit.
bool luhn_ok(const uint8_t* d, size_t n) {
  unsigned sum = 0;
  bool dbl = false;
  for (size_t i = n; i-- > 0;) {
    unsigned x = d[i];
    if (dbl) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    sum += x;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool ieq(const uint8_t* p, size_t n, const char* lit) {
  for (size_t i = 0; i < n; ++i)
    if (lit[i] == '\0' || to_lower(p[i]) != static_cast<uint8_t>(lit[i])) return false;
  return lit[n] == '\0';
}

bool starts_with_ci(const uint8_t* p, size_t n, const char* lit) {
  size_t k = std::strlen(lit);
  if (n < k) return false;
  for (size_t i = 0; i < k; ++i)
    if (to_lower(p[i]) != static_cast<uint8_t>(lit[i])) return false;
  return true;
}

// ---------------------------------------------------------------- SSN / ITIN
// 3-2-4 digits, either bare or with one delimiter (-, space, .) used twice.
// Fills d[9] with digit values.
bool parse_324(const uint8_t* t, size_t len, uint8_t d[9]) {
  if (len == 9) {
    if (!all_digits(t, 9)) return false;
    for (size_t i = 0; i < 9; ++i) d[i] = static_cast<uint8_t>(dval(t[i]));
    return true;
  }
  if (len != 11) return false;
  const uint8_t sep = t[3];
  if (sep != '-' && sep != ' ' && sep != '.') return false;
  if (t[6] != sep) return false;
  size_t k = 0;
  for (size_t i = 0; i < 11; ++i) {
    if (i == 3 || i == 6) continue;
    if (!is_digit(t[i])) return false;
    d[k++] = static_cast<uint8_t>(dval(t[i]));
  }
  return true;
}

bool v_ssn(const uint8_t* t, size_t len) {
  uint8_t d[9];
  if (!parse_324(t, len, d)) return false;
  const int area = d[0] * 100 + d[1] * 10 + d[2];
  const int group = d[3] * 10 + d[4];
  const int serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
  if (area == 0 || area == 666 || area >= 900) return false;
  if (group == 0 || serial == 0) return false;
  if (all_same(d, 9)) return false;
  // Publicly burned numbers: the Woolworth wallet-card SSN and the 1962 SSA ad.
  if (area == 78 && group == 5 && serial == 1120) return false;
  if (area == 219 && group == 9 && serial == 9999) return false;
  return true;
}

bool v_itin(const uint8_t* t, size_t len) {
  uint8_t d[9];
  if (!parse_324(t, len, d)) return false;
  if (d[0] != 9) return false;
  const int group = d[3] * 10 + d[4];
  const int serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
  const bool group_ok = (group >= 50 && group <= 65) || (group >= 70 && group <= 88) ||
                        (group >= 90 && group <= 92) || (group >= 94 && group <= 99);
  if (!group_ok || serial == 0) return false;
  return !all_same(d, 9);
}

// ---------------------------------------------------------------- MBI
// CMS Medicare Beneficiary Identifier: C A AN N A AN N A A N N; letters exclude
// S L O I B Z. Printed form may carry dashes after the 4th and 7th characters.
bool mbi_letter(uint8_t c) {
  c = to_upper(c);
  return is_upper(c) && c != 'S' && c != 'L' && c != 'O' && c != 'I' && c != 'B' && c != 'Z';
}

bool v_mbi(const uint8_t* t, size_t len) {
  uint8_t c[11];
  if (len == 11) {
    std::memcpy(c, t, 11);
  } else if (len == 13 && t[4] == '-' && t[8] == '-') {
    std::memcpy(c, t, 4);
    std::memcpy(c + 4, t + 5, 3);
    std::memcpy(c + 7, t + 9, 4);
  } else {
    return false;
  }
  // 'C' numeric 1-9, 'A' letter, 'N' numeric, 'X' letter or numeric.
  static constexpr char kShape[] = "CAXNAXNAANN";
  for (size_t i = 0; i < 11; ++i) {
    const uint8_t x = c[i];
    switch (kShape[i]) {
      case 'C':
        if (x < '1' || x > '9') return false;
        break;
      case 'A':
        if (!mbi_letter(x)) return false;
        break;
      case 'N':
        if (!is_digit(x)) return false;
        break;
      default:
        if (!is_digit(x) && !mbi_letter(x)) return false;
        break;
    }
  }
  return true;
}

// ---------------------------------------------------------------- NPI
bool v_npi(const uint8_t* t, size_t len) {
  if (len != 10 || !all_digits(t, 10)) return false;
  if (t[0] != '1' && t[0] != '2') return false;
  // Luhn over the ISO 7812 card-issuer prefix 80840 followed by the NPI.
  uint8_t d[15] = {8, 0, 8, 4, 0};
  for (size_t i = 0; i < 10; ++i) d[5 + i] = static_cast<uint8_t>(dval(t[i]));
  return luhn_ok(d, 15);
}

// ---------------------------------------------------------------- DEA
bool v_dea(const uint8_t* t, size_t len) {
  if (len != 9) return false;
  const uint8_t r = to_upper(t[0]);
  static constexpr char kRegistrant[] = "ABCDEFGHJKLMPRSTUX";
  if (!is_upper(r) || std::strchr(kRegistrant, r) == nullptr) return false;
  if (!is_alpha(t[1]) && t[1] != '9') return false;
  if (!all_digits(t + 2, 7)) return false;
  const uint8_t* d = t + 2;
  const int odd = dval(d[0]) + dval(d[2]) + dval(d[4]);
  const int even = dval(d[1]) + dval(d[3]) + dval(d[5]);
  return (odd + 2 * even) % 10 == dval(d[6]);
}

// ---------------------------------------------------------------- Luhn (cards)
// 13..19 digits, optionally split by one kind of separator (space or dash); the
// expression decides the grouping, this only rejects leading/trailing/double or
// mixed separators.
bool v_luhn(const uint8_t* t, size_t len) {
  if (len < 13 || len > 19 + 18) return false;
  uint8_t d[19];
  size_t n = 0;
  uint8_t sep = 0;
  bool prev_digit = false;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t c = t[i];
    if (is_digit(c)) {
      if (n == 19) return false;
      d[n++] = static_cast<uint8_t>(dval(c));
      prev_digit = true;
    } else if (c == ' ' || c == '-') {
      if (!prev_digit) return false;
      if (sep != 0 && sep != c) return false;
      sep = c;
      prev_digit = false;
    } else {
      return false;
    }
  }
  if (!prev_digit || n < 13) return false;
  if (all_same(d, n)) return false;
  return luhn_ok(d, n);
}

// ---------------------------------------------------------------- IBAN
// Registered IBAN lengths (SWIFT IBAN registry), indexed by the two country letters.
struct iban_len_entry {
  char cc[3];
  uint8_t len;
};
constexpr iban_len_entry kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
    {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
    {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
    {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
    {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
    {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23},
    {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22},
    {"VG", 24}, {"XK", 20},
};

constexpr std::array<uint8_t, 26 * 26> make_iban_table() {
  std::array<uint8_t, 26 * 26> t{};
  for (const auto& e : kIbanLengths)
    t[static_cast<size_t>((e.cc[0] - 'A') * 26 + (e.cc[1] - 'A'))] = e.len;
  return t;
}
constexpr std::array<uint8_t, 26 * 26> kIbanTable = make_iban_table();

bool v_iban(const uint8_t* t, size_t len) {
  // Electronic form (compact) or paper form (groups of four split by one space).
  uint8_t c[34];
  size_t n = 0;
  bool spaced = false;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t x = t[i];
    if (x == ' ') {
      // A space is allowed only right after each complete group of four.
      if (n == 0 || n % 4 != 0 || i == 0 || t[i - 1] == ' ' || i + 1 == len) return false;
      if (!spaced && n != 4) return false;
      spaced = true;
      continue;
    }
    if (!is_alnum(x) || n == 34) return false;
    if (spaced && n % 4 == 0 && t[i - 1] != ' ') return false;  // group ran past 4
    c[n++] = to_upper(x);
  }
  if (n < 15) return false;
  if (!is_upper(c[0]) || !is_upper(c[1]) || !is_digit(c[2]) || !is_digit(c[3])) return false;
  const uint8_t want = kIbanTable[(c[0] - 'A') * 26 + (c[1] - 'A')];
  if (want == 0 || want != n) return false;
  // ISO 7064 MOD 97-10 over BBAN + country + check digits, letters as 10..35.
  unsigned rem = 0;
  for (size_t k = 0; k < n; ++k) {
    const uint8_t x = c[(k + 4) % n];
    if (is_digit(x)) {
      rem = (rem * 10 + static_cast<unsigned>(dval(x))) % 97;
    } else {
      rem = (rem * 100 + static_cast<unsigned>(x - 'A' + 10)) % 97;
    }
  }
  return rem == 1;
}

// ---------------------------------------------------------------- ABA routing
bool v_aba(const uint8_t* t, size_t len) {
  if (len != 9 || !all_digits(t, 9)) return false;
  uint8_t d[9];
  for (size_t i = 0; i < 9; ++i) d[i] = static_cast<uint8_t>(dval(t[i]));
  // Federal Reserve routing symbol: 00 (US government), 01-12 (districts),
  // 21-32 (thrifts), 61-72 (electronic), 80 (traveler's cheques).
  const int prefix = d[0] * 10 + d[1];
  const bool prefix_ok = prefix <= 12 || (prefix >= 21 && prefix <= 32) ||
                         (prefix >= 61 && prefix <= 72) || prefix == 80;
  if (!prefix_ok || all_same(d, 9)) return false;
  const int sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
  return sum % 10 == 0;
}

// ---------------------------------------------------------------- VIN
// NHTSA 49 CFR 565: 17 characters without I, O, Q; position 9 is a mod-11 check
// digit ('X' for 10); position 10 (model year) is never U, Z or 0.
int vin_value(uint8_t c) {
  if (is_digit(c)) return dval(c);
  static constexpr int8_t kTrans[26] = {1, 2, 3, 4, 5, 6, 7, 8, -1, 1, 2, 3, 4,
                                        5, -1, 7, -1, 9, 2, 3, 4, 5, 6, 7, 8, 9};
  if (!is_upper(c)) return -1;
  return kTrans[c - 'A'];
}

bool v_vin(const uint8_t* t, size_t len) {
  if (len != 17) return false;
  static constexpr int kWeights[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  bool has_letter = false;
  for (size_t i = 0; i < 17; ++i) {
    const uint8_t c = to_upper(t[i]);
    const int v = vin_value(c);
    if (v < 0) return false;
    has_letter |= is_upper(c);
    sum += v * kWeights[i];
  }
  // Every assigned WMI contains a letter; a 17-digit number is an order id, not a VIN.
  if (!has_letter) return false;
  const uint8_t year = to_upper(t[9]);
  if (year == 'U' || year == 'Z' || year == '0') return false;
  const int check = sum % 11;
  const uint8_t want = check == 10 ? 'X' : static_cast<uint8_t>('0' + check);
  return to_upper(t[8]) == want;
}

// ---------------------------------------------------------------- NANP phone
bool is_phone_sep(uint8_t c) { return c == ' ' || c == '-' || c == '.'; }

bool v_nanp_phone(const uint8_t* t, size_t len) {
  if (len < 10 || len > 20) return false;
  size_t p = 0;
  bool cc = false;
  if (t[p] == '+') {
    ++p;
    if (p >= len || t[p] != '1') return false;
    ++p;
    cc = true;
  } else if (t[p] == '1') {  // no area code starts with 1: this is the country code
    ++p;
    cc = true;
  }
  if (cc && p < len && is_phone_sep(t[p])) ++p;

  auto take_digits = [&](size_t n, uint8_t* out) {
    if (len - p < n || !all_digits(t + p, n)) return false;
    std::memcpy(out, t + p, n);
    p += n;
    return true;
  };
  auto take_sep = [&]() -> uint8_t {
    if (p < len && is_phone_sep(t[p])) return t[p++];
    return 0;
  };

  uint8_t d[10];
  bool paren = false;
  if (p < len && t[p] == '(') {
    ++p;
    if (!take_digits(3, d)) return false;
    if (p >= len || t[p] != ')') return false;
    ++p;
    paren = true;
  } else if (!take_digits(3, d)) {
    return false;
  }
  const uint8_t s1 = take_sep();
  if (!take_digits(3, d + 3)) return false;
  const uint8_t s2 = take_sep();
  if (!take_digits(4, d + 6)) return false;
  if (p != len) return false;

  if (paren) {
    if (s1 == '.') return false;
  } else if (s1 != s2 && !(s1 == ' ' && s2 == '-')) {
    return false;  // "555-012.3456" or "555012-3456": not one number
  }
  if (d[0] < '2') return false;
  if (d[1] == '1' && d[2] == '1') return false;  // N11 service codes
  // Exchange must start 2-9. Area 555 is unassigned and used for fictional numbers
  // in samples and tests ("555-012-3456"), so any exchange is accepted there.
  const bool area_555 = d[0] == '5' && d[1] == '5' && d[2] == '5';
  if (!area_555 && d[3] < '2') return false;
  return !all_same(d, 10);
}

// ---------------------------------------------------------------- email / url
bool is_atext(uint8_t c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

// Host name: >= 2 labels of [A-Za-z0-9-]{1,63} not starting/ending with '-',
// TLD alphabetic >= 2 chars, total <= 253.
bool valid_domain(const uint8_t* t, size_t len) {
  if (len < 4 || len > 253) return false;
  size_t labels = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; ++i) {
    if (i < len && t[i] != '.') {
      if (!is_alnum(t[i]) && t[i] != '-') return false;
      continue;
    }
    const size_t n = i - start;
    if (n == 0 || n > 63) return false;
    if (t[start] == '-' || t[i - 1] == '-') return false;
    ++labels;
    if (i == len) {  // TLD
      if (n < 2) return false;
      for (size_t k = start; k < i; ++k)
        if (!is_alpha(t[k])) return false;
    }
    start = i + 1;
  }
  return labels >= 2;
}

bool v_email(const uint8_t* t, size_t len) {
  if (len < 6 || len > 254) return false;
  size_t at = len;
  for (size_t i = 0; i < len; ++i) {
    if (t[i] == '@') {
      if (at != len) return false;
      at = i;
    }
  }
  if (at == len || at == 0 || at > 64) return false;
  if (t[0] == '.' || t[at - 1] == '.') return false;
  for (size_t i = 0; i < at; ++i) {
    if (t[i] == '.') {
      if (t[i + 1] == '.') return false;
    } else if (!is_atext(t[i])) {
      return false;
    }
  }
  return valid_domain(t + at + 1, len - at - 1);
}

bool v_ipv4(const uint8_t* t, size_t len);

bool is_url_char(uint8_t c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                       // unreserved
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':         // gen-delims
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+':
    case ',': case ';': case '=':                                                 // sub-delims
    case '%':
      return true;
    default:
      return false;
  }
}

bool v_url(const uint8_t* t, size_t len) {
  if (len < 8 || len > 2048) return false;
  size_t p;
  bool scheme;
  if (starts_with_ci(t, len, "https://")) {
    p = 8;
    scheme = true;
  } else if (starts_with_ci(t, len, "http://")) {
    p = 7;
    scheme = true;
  } else if (starts_with_ci(t, len, "ftp://")) {
    p = 6;
    scheme = true;
  } else if (starts_with_ci(t, len, "www.")) {
    p = 0;
    scheme = false;
  } else {
    return false;
  }
  size_t host_end = p;
  while (host_end < len && t[host_end] != ':' && t[host_end] != '/' && t[host_end] != '?' &&
         t[host_end] != '#')
    ++host_end;
  const uint8_t* host = t + p;
  const size_t host_len = host_end - p;
  if (scheme) {
    if (!valid_domain(host, host_len) && !v_ipv4(host, host_len)) return false;
  } else {
    // "www." + name + TLD: "www.example" alone is a word, not a URL.
    if (host_len < 8 || !valid_domain(host + 4, host_len - 4)) return false;
  }
  p = host_end;
  if (p < len && t[p] == ':') {
    ++p;
    size_t digits = 0;
    unsigned port = 0;
    while (p < len && is_digit(t[p]) && digits < 6) {
      port = port * 10 + static_cast<unsigned>(dval(t[p]));
      ++p;
      ++digits;
    }
    if (digits == 0 || digits > 5 || port > 65535) return false;
  }
  if (p < len && t[p] != '/' && t[p] != '?' && t[p] != '#') return false;
  for (; p < len; ++p)
    if (!is_url_char(t[p])) return false;
  return true;
}

// ---------------------------------------------------------------- IP
// Dotted quad, 1-3 digits per octet, each <= 255. Leading zeros are accepted
// (inet_pton refuses them, but "010.001.002.003" in a log is still an address).
bool v_ipv4(const uint8_t* t, size_t len) {
  if (len < 7 || len > 15) return false;
  size_t p = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (p >= len || t[p] != '.') return false;
      ++p;
    }
    size_t n = 0;
    int v = 0;
    while (p < len && is_digit(t[p]) && n < 4) {
      v = v * 10 + dval(t[p]);
      ++p;
      ++n;
    }
    if (n == 0 || n > 3 || v > 255) return false;
  }
  return p == len;
}

bool v_ipv6(const uint8_t* t, size_t len) {
  // Longest text form: 6 hex groups + embedded IPv4 = 45 chars.
  if (len < 3 || len > 45) return false;
  size_t colons = 0;
  bool only_dec = true;
  size_t group = 0, max_group = 0;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t c = t[i];
    if (c == ':') {
      ++colons;
      group = 0;
      continue;
    }
    if (!is_digit(c)) only_dec = false;
    ++group;
    if (group > max_group) max_group = group;
  }
  if (colons < 2) return false;
  // Clock times ("12:30:45", "1::2") are digits-only with <= 2-digit groups.
  if (only_dec && max_group <= 2) return false;
  char buf[46];
  std::memcpy(buf, t, len);
  buf[len] = '\0';
  in6_addr addr;
  return inet_pton(AF_INET6, buf, &addr) == 1;
}

// ---------------------------------------------------------------- dates
bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int m, int y) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && leap(y)) return 29;
  return kDays[m - 1];
}

bool ymd_ok(int y, int m, int d) {
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  return d <= days_in_month(m, y);
}

// Optional ISO 8601 time after a date: [T ]hh:mm[:ss[.frac]][Z|+hh[:]mm]
bool iso_time_ok(const uint8_t* t, size_t len) {
  if (len == 0) return true;
  if (t[0] != 'T' && t[0] != 't' && t[0] != ' ') return false;
  size_t p = 1;
  auto two = [&](int max) {
    if (len - p < 2 || !all_digits(t + p, 2)) return false;
    const int v = num(t + p, 2);
    p += 2;
    return v <= max;
  };
  if (!two(23)) return false;
  if (p >= len || t[p] != ':') return false;
  ++p;
  if (!two(59)) return false;
  if (p < len && t[p] == ':') {
    ++p;
    if (!two(60)) return false;
    if (p < len && (t[p] == '.' || t[p] == ',')) {
      ++p;
      size_t n = 0;
      while (p < len && is_digit(t[p])) ++p, ++n;
      if (n == 0 || n > 9) return false;
    }
  }
  if (p == len) return true;
  if (t[p] == 'Z' || t[p] == 'z') return p + 1 == len;
  if (t[p] != '+' && t[p] != '-') return false;
  ++p;
  if (!two(14)) return false;
  if (p < len && t[p] == ':') ++p;
  if (!two(59)) return false;
  return p == len;
}

// yyyy-mm-dd / yyyy/mm/dd (+ optional time for the '-' form).
bool date_iso(const uint8_t* t, size_t len) {
  if (len < 10 || !all_digits(t, 4)) return false;
  const uint8_t sep = t[4];
  if (sep != '-' && sep != '/') return false;
  if (!all_digits(t + 5, 2) || t[7] != sep || !all_digits(t + 8, 2)) return false;
  if (!ymd_ok(num(t, 4), num(t + 5, 2), num(t + 8, 2))) return false;
  if (len == 10) return true;
  return sep == '-' && iso_time_ok(t + 10, len - 10);
}

// m/d/yyyy, m/d/yy, with '/' or '-' used twice. Accepted when valid as either
// month-first (US) or day-first; 2-digit years accept Feb 29 when yy % 4 == 0.
bool date_numeric(const uint8_t* t, size_t len) {
  size_t p = 0;
  int part[3];
  size_t width[3];
  uint8_t sep = 0;
  for (int k = 0; k < 3; ++k) {
    if (k > 0) {
      if (p >= len) return false;
      if (k == 1) {
        sep = t[p];
        if (sep != '/' && sep != '-') return false;
      } else if (t[p] != sep) {
        return false;
      }
      ++p;
    }
    size_t n = 0;
    while (p < len && is_digit(t[p]) && n < 5) ++p, ++n;
    if (n == 0) return false;
    part[k] = num(t + p - n, n);
    width[k] = n;
  }
  if (p != len) return false;
  if (width[0] > 2 || width[1] > 2) return false;
  int year;
  if (width[2] == 4) {
    year = part[2];
  } else if (width[2] == 2) {
    year = 2000 + part[2];  // 2000 is a leap year, so yy % 4 == 0 allows Feb 29
  } else {
    return false;
  }
  return ymd_ok(year, part[0], part[1]) || ymd_ok(year, part[1], part[0]);
}

// Month word at t: full name, 3-letter abbreviation or "sept", optional '.'.
// Returns month 1..12 and advances p, or 0.
int month_word(const uint8_t* t, size_t len, size_t& p) {
  static constexpr const char* kFull[12] = {"january", "february", "march",     "april",
                                            "may",     "june",     "july",      "august",
                                            "september", "october", "november", "december"};
  size_t n = 0;
  while (p + n < len && is_alpha(t[p + n]) && n < 10) ++n;
  if (n < 3 || n > 9) return 0;
  int month = 0;
  for (int m = 0; m < 12 && month == 0; ++m)
    if (ieq(t + p, n, kFull[m])) month = m + 1;
  for (int m = 0; m < 12 && month == 0 && n == 3; ++m) {
    if (to_lower(t[p]) == kFull[m][0] && to_lower(t[p + 1]) == kFull[m][1] &&
        to_lower(t[p + 2]) == kFull[m][2]) {
      month = m + 1;
    }
  }
  if (month == 0 && n == 4 && ieq(t + p, 4, "sept")) month = 9;
  if (month == 0) return 0;
  p += n;
  // The expressions allow "\.?" after any month word ("Mar.", also "March.").
  if (p < len && t[p] == '.') ++p;
  return month;
}

// Day number with optional ordinal suffix (st/nd/rd/th, any case).
int day_number(const uint8_t* t, size_t len, size_t& p) {
  size_t n = 0;
  while (p + n < len && is_digit(t[p + n]) && n < 3) ++n;
  if (n == 0 || n > 2) return 0;
  const int d = num(t + p, n);
  p += n;
  if (p + 1 < len && is_alpha(t[p])) {
    const uint8_t a = to_lower(t[p]), b = to_lower(t[p + 1]);
    if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
        (a == 't' && b == 'h'))
      p += 2;
    else
      return 0;
  }
  return d;
}

bool take_spaces(const uint8_t* t, size_t len, size_t& p) {
  size_t n = 0;
  while (p < len && t[p] == ' ' && n < 3) ++p, ++n;
  return n > 0;
}

int year4(const uint8_t* t, size_t len, size_t& p) {
  if (len - p != 4 || !all_digits(t + p, 4)) return 0;
  const int y = num(t + p, 4);
  p += 4;
  return y;
}

// "March 3, 2024", "Mar. 3rd 2024", "3 March 2024", "3rd of March, 2024".
bool date_words(const uint8_t* t, size_t len) {
  size_t p = 0;
  int m, d;
  if (is_alpha(t[0])) {
    m = month_word(t, len, p);
    if (m == 0 || !take_spaces(t, len, p)) return false;
    d = day_number(t, len, p);
    if (d == 0) return false;
    if (p < len && t[p] == ',') ++p;
  } else {
    d = day_number(t, len, p);
    if (d == 0 || !take_spaces(t, len, p)) return false;
    if (len - p > 3 && ieq(t + p, 2, "of") && t[p + 2] == ' ') {
      p += 2;
      take_spaces(t, len, p);
    }
    m = month_word(t, len, p);
    if (m == 0) return false;
    if (p < len && t[p] == ',') ++p;
  }
  if (!take_spaces(t, len, p)) return false;
  const int y = year4(t, len, p);
  return p == len && ymd_ok(y, m, d);
}

bool v_date(const uint8_t* t, size_t len) {
  if (len < 6 || len > 40) return false;
  if (len >= 10 && all_digits(t, 4) && (t[4] == '-' || t[4] == '/')) return date_iso(t, len);
  if (is_digit(t[0]) && date_numeric(t, len)) return true;
  return date_words(t, len);
}

// ---------------------------------------------------------------- ZIP
bool v_zip(const uint8_t* t, size_t len) {
  if (len != 5 && len != 10) return false;
  if (!all_digits(t, 5) || num(t, 5) == 0) return false;
  if (len == 5) return true;
  return t[5] == '-' && all_digits(t + 6, 4);
}

constexpr const char* kNames[validator_count] = {
    "none", "ssn",  "itin",       "mbi",   "npi", "dea",  "luhn", "iban", "aba",
    "vin",  "nanp_phone", "email", "url",  "ipv4", "ipv6", "date", "zip"};

}  // namespace

bool validator_from_name(std::string_view name, validator& out) {
  for (size_t i = 0; i < validator_count; ++i) {
    if (name == kNames[i]) {
      out = static_cast<validator>(i);
      return true;
    }
  }
  return false;
}

const char* validator_name(validator v) {
  const auto i = static_cast<size_t>(v);
  return i < validator_count ? kNames[i] : "unknown";
}

bool validate(validator v, const uint8_t* text, size_t len) {
  if (v == validator::none) return true;
  if (text == nullptr || len == 0) return false;
  switch (v) {
    case validator::none: return true;
    case validator::ssn: return v_ssn(text, len);
    case validator::itin: return v_itin(text, len);
    case validator::mbi: return v_mbi(text, len);
    case validator::npi: return v_npi(text, len);
    case validator::dea: return v_dea(text, len);
    case validator::luhn: return v_luhn(text, len);
    case validator::iban: return v_iban(text, len);
    case validator::aba: return v_aba(text, len);
    case validator::vin: return v_vin(text, len);
    case validator::nanp_phone: return v_nanp_phone(text, len);
    case validator::email: return v_email(text, len);
    case validator::url: return v_url(text, len);
    case validator::ipv4: return v_ipv4(text, len);
    case validator::ipv6: return v_ipv6(text, len);
    case validator::date: return v_date(text, len);
    case validator::zip: return v_zip(text, len);
  }
  return false;
}

}  // namespace phigate::validate
