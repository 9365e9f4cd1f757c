// Generators run the validators in reverse: random fields first, check digits
// computed last. The arithmetic is written out here on purpose (not calls into
// dataplane/validate), so a bug in a validator shows up as a failing
// "generated values validate" test instead of being mirrored.
#include "tests/support/phi_values.hh"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace phigate::test {
namespace {

using rng_t = std::mt19937_64;

uint64_t below(rng_t& rng, uint64_t n) { return rng() % n; }
int between(rng_t& rng, int lo, int hi) {  // inclusive
  return lo + static_cast<int>(below(rng, static_cast<uint64_t>(hi - lo + 1)));
}
bool chance(rng_t& rng, int percent) { return between(rng, 1, 100) <= percent; }
// Named apart from pick(): a string literal would bind to the array overload and
// could return its terminating NUL.
char pick_char(rng_t& rng, std::string_view chars) { return chars[below(rng, chars.size())]; }
template <typename T, size_t N>
const T& pick(rng_t& rng, const T (&items)[N]) {
  return items[below(rng, N)];
}

std::string digits(rng_t& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += static_cast<char>('0' + below(rng, 10));
  return s;
}

std::string pad(int v, int width) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*d", width, v);
  return buf;
}

// Check digit that makes `body` + digit pass Luhn.
char luhn_check_digit(std::string_view body) {
  int sum = 0;
  bool dbl = true;  // the check digit is appended at the right, undoubled
  for (size_t i = body.size(); i-- > 0;) {
    int x = body[i] - '0';
    if (dbl) {
      x *= 2;
      if (x > 9) x -= 9;
    }
    sum += x;
    dbl = !dbl;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool all_same(std::string_view s) { return s.find_first_not_of(s[0]) == std::string_view::npos; }

// ----------------------------------------------------------------- kinds
phi_value gen_ssn(rng_t& rng) {
  for (;;) {
    int area = between(rng, 1, 899);
    if (area == 666) continue;
    const int group = between(rng, 1, 99);
    const int serial = between(rng, 1, 9999);
    const std::string d = pad(area, 3) + pad(group, 2) + pad(serial, 4);
    if (all_same(d) || d == "078051120" || d == "219099999") continue;
    const char sep = chance(rng, 60) ? '-' : pick_char(rng, " .");
    return {d.substr(0, 3) + sep + d.substr(3, 2) + sep + d.substr(5), "ssn"};
  }
}

phi_value gen_itin(rng_t& rng) {
  static constexpr int kGroups[] = {50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
                                    65, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,
                                    84, 85, 86, 87, 88, 90, 91, 92, 94, 95, 96, 97, 98, 99};
  for (;;) {
    const std::string d =
        "9" + digits(rng, 2) + pad(pick(rng, kGroups), 2) + pad(between(rng, 1, 9999), 4);
    if (all_same(d)) continue;
    const char sep = chance(rng, 70) ? '-' : pick_char(rng, " .");
    return {d.substr(0, 3) + sep + d.substr(3, 2) + sep + d.substr(5), "itin"};
  }
}

phi_value gen_mbi(rng_t& rng) {
  constexpr std::string_view kL = "ACDEFGHJKMNPQRTUVWXY";
  constexpr std::string_view kD = "0123456789";
  const std::string kLD = std::string(kL) + std::string(kD);
  std::string m;
  m += pick_char(rng, "123456789");
  m += pick_char(rng, kL);
  m += pick_char(rng, kLD);
  m += pick_char(rng, kD);
  m += pick_char(rng, kL);
  m += pick_char(rng, kLD);
  m += pick_char(rng, kD);
  m += pick_char(rng, kL);
  m += pick_char(rng, kL);
  m += pick_char(rng, kD);
  m += pick_char(rng, kD);
  if (chance(rng, 40)) m = m.substr(0, 4) + "-" + m.substr(4, 3) + "-" + m.substr(7);
  return {m, "mbi"};
}

phi_value gen_npi(rng_t& rng) {
  const std::string body = std::string(1, pick_char(rng, "12")) + digits(rng, 8);
  // The NPI check digit is the Luhn digit of "80840" + the first nine digits.
  return {body + luhn_check_digit("80840" + body), "npi"};
}

phi_value gen_dea(rng_t& rng) {
  std::string d;
  d += pick_char(rng, "ABCDEFGHJKLMPRSTUX");
  d += chance(rng, 10) ? '9' : pick_char(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  const std::string n = digits(rng, 6);
  const int odd = (n[0] - '0') + (n[2] - '0') + (n[4] - '0');
  const int even = (n[1] - '0') + (n[3] - '0') + (n[5] - '0');
  d += n;
  d += static_cast<char>('0' + (odd + 2 * even) % 10);
  if (chance(rng, 10))
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {d, "dea"};
}

std::string phone_text(rng_t& rng) {
  std::string area;
  do {
    area = std::string(1, pick_char(rng, "23456789")) + digits(rng, 2);
  } while (area[1] == '1' && area[2] == '1');
  const std::string ex = "555";
  const std::string line = "01" + digits(rng, 2);
  switch (below(rng, 8)) {
    case 0: return "(" + area + ") " + ex + "-" + line;
    case 1: return area + "-" + ex + "-" + line;
    case 2: return area + "." + ex + "." + line;
    case 3: return "+1 " + area + " " + ex + " " + line;
    case 4: return "1-" + area + "-" + ex + "-" + line;
    case 5: return "+1 (" + area + ") " + ex + "-" + line;
    case 6: return area + " " + ex + " " + line;
    default: return "+1-" + area + "-" + ex + "-" + line;
  }
}

phi_value gen_phone(rng_t& rng) { return {phone_text(rng), "phone"}; }
phi_value gen_fax(rng_t& rng) { return {phone_text(rng), "fax"}; }

phi_value gen_email(rng_t& rng) {
  static constexpr const char* kFirst[] = {"john", "mary", "p", "li", "ana", "omar", "k"};
  static constexpr const char* kLast[] = {"doe", "smith", "jones", "nguyen", "garcia", "okafor"};
  static constexpr const char* kDomain[] = {"example.com", "example.org", "example.net",
                                            "mail.example.com", "clinic.example.org"};
  std::string local = pick(rng, kFirst);
  switch (below(rng, 4)) {
    case 0: local += std::string(".") + pick(rng, kLast); break;
    case 1: local += std::string("_") + pick(rng, kLast) + digits(rng, 2); break;
    case 2: local += digits(rng, 3); break;
    default: local += std::string(".") + pick(rng, kLast) + "+rx"; break;
  }
  return {local + "@" + pick(rng, kDomain), "email"};
}

phi_value gen_url(rng_t& rng) {
  static constexpr const char* kStart[] = {"https://example.com", "http://example.org",
                                           "https://portal.example.net", "www.example.com",
                                           "https://www.example.org:8443"};
  std::string u = pick(rng, kStart);
  switch (below(rng, 4)) {
    case 0: u += "/patients/" + digits(rng, 6); break;
    case 1: u += "/records?id=" + digits(rng, 5) + "&view=full"; break;
    case 2: u += "/chart/" + digits(rng, 4) + "#labs"; break;
    default: break;
  }
  return {u, "url"};
}

phi_value gen_ipv4(rng_t& rng) {
  static constexpr const char* kNets[] = {"192.0.2.", "198.51.100.", "203.0.113."};
  return {pick(rng, kNets) + std::to_string(between(rng, 0, 255)), "ip_address"};
}

phi_value gen_ipv6(rng_t& rng) {
  auto hex = [&](bool upper) {
    char buf[8];
    std::snprintf(buf, sizeof buf, upper ? "%X" : "%x", between(rng, 1, 0xffff));
    return std::string(buf);
  };
  const bool up = chance(rng, 20);
  const std::string db8 = up ? "2001:DB8" : "2001:db8";
  switch (below(rng, 4)) {
    case 0: {
      std::string s = db8;
      for (int i = 0; i < 6; ++i) s += ":" + hex(up);
      return {s, "ip_address"};
    }
    case 1: return {db8 + "::" + hex(up), "ip_address"};
    case 2: return {db8 + ":" + hex(up) + "::" + hex(up) + ":" + hex(up), "ip_address"};
    default: return {db8 + "::ffff:" + hex(up) + ":" + hex(up), "ip_address"};
  }
}

int days_in(int m, int y) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

phi_value gen_date(rng_t& rng) {
  static constexpr const char* kMonths[12] = {"January", "February", "March",     "April",
                                              "May",     "June",     "July",      "August",
                                              "September", "October", "November", "December"};
  const int y = between(rng, 1930, 2030);
  const int m = between(rng, 1, 12);
  const int d = between(rng, 1, days_in(m, y));
  const std::string mon = kMonths[m - 1];
  const std::string abbr = mon.substr(0, 3);
  const char* sfx = (d % 10 == 1 && d != 11) ? "st"
                    : (d % 10 == 2 && d != 12) ? "nd"
                    : (d % 10 == 3 && d != 13) ? "rd"
                                               : "th";
  const std::string ys = std::to_string(y), ds = std::to_string(d), ms = std::to_string(m);
  std::string s;
  switch (below(rng, 10)) {
    case 0: s = ys + "-" + pad(m, 2) + "-" + pad(d, 2); break;
    case 1:
      s = ys + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(between(rng, 0, 23), 2) + ":" +
          pad(between(rng, 0, 59), 2) + ":" + pad(between(rng, 0, 59), 2) + "Z";
      break;
    case 2: s = ms + "/" + ds + "/" + ys; break;
    case 3: s = pad(m, 2) + "/" + pad(d, 2) + "/" + ys; break;
    case 4: s = ms + "/" + ds + "/" + pad(y % 100, 2); break;
    case 5: s = pad(m, 2) + "-" + pad(d, 2) + "-" + ys; break;
    case 6: s = mon + " " + ds + ", " + ys; break;
    case 7: s = abbr + " " + ds + sfx + ", " + ys; break;
    case 8: s = ds + " " + mon + " " + ys; break;
    default: s = abbr + ". " + ds + ", " + ys; break;
  }
  return {s, "date"};
}

std::string upper_letters(rng_t& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += pick_char(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  return s;
}

phi_value gen_mrn(rng_t& rng) {
  return {upper_letters(rng, below(rng, 4)) + std::string(1, pick_char(rng, "123456789")) +
              digits(rng, between(rng, 5, 9)),
          "mrn"};
}

phi_value gen_health_plan(rng_t& rng) {
  return {upper_letters(rng, below(rng, 4)) + std::string(1, pick_char(rng, "123456789")) +
              digits(rng, between(rng, 5, 11)),
          "health_plan_id"};
}

phi_value gen_account(rng_t& rng) {
  return {std::string(1, pick_char(rng, "123456789")) + digits(rng, between(rng, 7, 16)),
          "account_number"};
}

phi_value gen_card(rng_t& rng) {
  std::string body;
  int len;
  switch (below(rng, 5)) {
    case 0: body = "4"; len = 16; break;
    case 1: body = "5" + std::string(1, pick_char(rng, "12345")); len = 16; break;
    case 2: body = pick_char(rng, "47") == '4' ? "34" : "37"; len = 15; break;
    case 3: body = "6011"; len = 16; break;
    default: body = "4"; len = 13; break;
  }
  std::string n;
  do {
    n = body + digits(rng, len - 1 - body.size());
    n += luhn_check_digit(n);
  } while (all_same(n));
  if (len == 13 || chance(rng, 30)) return {n, "credit_card"};
  const char sep = pick_char(rng, " -");
  if (len == 15) return {n.substr(0, 4) + sep + n.substr(4, 6) + sep + n.substr(10), "credit_card"};
  return {n.substr(0, 4) + sep + n.substr(4, 4) + sep + n.substr(8, 4) + sep + n.substr(12),
          "credit_card"};
}

phi_value gen_iban(rng_t& rng) {
  struct shape {
    const char* cc;
    int letters;  // leading letters of the BBAN (bank code), then digits
    int len;      // total IBAN length
  };
  static constexpr shape kShapes[] = {{"DE", 0, 22}, {"GB", 4, 22}, {"FR", 0, 27}, {"NL", 4, 18},
                                      {"ES", 0, 24}, {"IT", 1, 27}, {"CH", 0, 21}, {"BE", 0, 16},
                                      {"AT", 0, 20}, {"NO", 0, 15}, {"PL", 0, 28}, {"IE", 4, 22}};
  const shape& s = pick(rng, kShapes);
  const std::string bban = upper_letters(rng, s.letters) + digits(rng, s.len - 4 - s.letters);
  // ISO 7064 MOD 97-10: check = 98 - (BBAN + CC + "00" as digits) mod 97.
  const std::string moved = bban + s.cc + "00";
  int rem = 0;
  for (char c : moved) {
    if (c >= '0' && c <= '9')
      rem = (rem * 10 + (c - '0')) % 97;
    else
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
  }
  const std::string iban = std::string(s.cc) + pad(98 - rem, 2) + bban;
  if (chance(rng, 50)) return {iban, "iban"};
  std::string spaced;
  for (size_t i = 0; i < iban.size(); ++i) {
    if (i > 0 && i % 4 == 0) spaced += ' ';
    spaced += iban[i];
  }
  return {spaced, "iban"};
}

phi_value gen_aba(rng_t& rng) {
  static constexpr int kPrefixes[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 21,
                                      22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 61, 62,
                                      63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 80};
  for (;;) {
    const std::string s = pad(pick(rng, kPrefixes), 2) + digits(rng, 6);
    int d[9];
    for (int i = 0; i < 8; ++i) d[i] = s[i] - '0';
    const int partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
    const std::string full = s + static_cast<char>('0' + (10 - partial % 10) % 10);
    if (!all_same(full)) return {full, "aba_routing"};
  }
}

phi_value gen_zip(rng_t& rng) {
  std::string z = pad(between(rng, 501, 99950), 5);
  if (chance(rng, 30)) z += "-" + digits(rng, 4);
  return {z, "zip_code"};
}

int vin_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  static constexpr int kTrans[26] = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4,
                                     5, 0, 7, 0, 9, 2, 3, 4, 5, 6, 7, 8, 9};
  return kTrans[c - 'A'];
}

phi_value gen_vin(rng_t& rng) {
  static constexpr const char* kWmi[] = {"1HG", "1FT", "2T1", "3VW", "4T1", "5YJ",
                                         "JHM", "WBA", "WVW", "KMH", "SAL", "YV1"};
  constexpr std::string_view kChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
  constexpr std::string_view kYear = "ABCDEFGHJKLMNPRSTVWXY123456789";
  std::string v = pick(rng, kWmi);
  for (int i = 0; i < 5; ++i) v += pick_char(rng, kChars);
  v += '0';  // position 9: weight 0, so it does not affect the sum; overwritten with the check digit below
  v += pick_char(rng, kYear);
  v += pick_char(rng, kChars);
  v += digits(rng, 6);
  static constexpr int kWeights[17] = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += vin_value(v[i]) * kWeights[i];
  v[8] = sum % 11 == 10 ? 'X' : static_cast<char>('0' + sum % 11);
  return {v, "vin"};
}

// ----------------------------------------------------------------- registry
struct kind_info {
  const char* name;
  const char* entity;     // catalog entity name
  const char* validator;  // dataplane/validate name
  const char* context;    // prefix that satisfies the catalog's context rule
  phi_value (*gen)(rng_t&);
};

phi_value gen_ip(rng_t& rng) { return chance(rng, 50) ? gen_ipv4(rng) : gen_ipv6(rng); }

constexpr kind_info kKinds[] = {
    {"ssn", "ssn", "ssn", "", gen_ssn},
    {"itin", "itin", "itin", "", gen_itin},
    {"mbi", "mbi", "mbi", "", gen_mbi},
    {"npi", "npi", "npi", "NPI: ", gen_npi},
    {"dea", "dea", "dea", "", gen_dea},
    {"phone", "phone", "nanp_phone", "", gen_phone},
    {"fax", "fax", "nanp_phone", "Fax: ", gen_fax},
    {"email", "email", "email", "", gen_email},
    {"url", "url", "url", "", gen_url},
    {"ipv4", "ip_address", "ipv4", "", gen_ipv4},
    {"ipv6", "ip_address", "ipv6", "", gen_ipv6},
    {"date", "date", "date", "", gen_date},
    {"mrn", "mrn", "none", "MRN: ", gen_mrn},
    {"health_plan_id", "health_plan_id", "none", "member id: ", gen_health_plan},
    {"account_number", "account_number", "none", "account number: ", gen_account},
    {"credit_card", "credit_card", "luhn", "", gen_card},
    {"iban", "iban", "iban", "", gen_iban},
    {"aba_routing", "aba_routing", "aba", "routing number: ", gen_aba},
    {"zip_code", "zip_code", "zip", "ZIP: ", gen_zip},
    {"vin", "vin", "vin", "", gen_vin},
};

struct alias {
  const char* name;
  const char* kind;
};
constexpr alias kAliases[] = {
    {"luhn", "credit_card"}, {"nanp_phone", "phone"},
    {"aba", "aba_routing"}, {"zip", "zip_code"}, {"card", "credit_card"},
};

const kind_info* find_kind(std::string_view name) {
  for (const auto& k : kKinds)
    if (name == k.name) return &k;
  for (const auto& a : kAliases)
    if (name == a.name) return find_kind(a.kind);
  return nullptr;
}

const kind_info& kind_or_throw(std::string_view name) {
  const kind_info* k = find_kind(name);
  if (k == nullptr) throw std::invalid_argument("phi_values: unknown kind " + std::string(name));
  return *k;
}

// ----------------------------------------------------------------- negatives
std::string hex(rng_t& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += pick_char(rng, "0123456789abcdef");
  return s;
}

std::string neg_uuid(rng_t& rng) {
  std::string u = hex(rng, 8) + "-" + hex(rng, 4) + "-4" + hex(rng, 3) + "-" +
                  std::string(1, pick_char(rng, "89ab")) + hex(rng, 3) + "-" + hex(rng, 12);
  if (chance(rng, 20))
    for (auto& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::string neg_hash(rng_t& rng) {
  static constexpr size_t kLens[] = {32, 40, 64};
  return hex(rng, pick(rng, kLens));
}

std::string neg_base64(rng_t& rng) {
  constexpr std::string_view kB64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t groups = static_cast<size_t>(between(rng, 6, 22));
  std::string s;
  for (size_t i = 0; i < groups * 4; ++i) s += pick_char(rng, kB64);
  const int padding = between(rng, 0, 2);
  for (int i = 0; i < padding; ++i) s[s.size() - 1 - i] = '=';
  return s;
}

std::string neg_version(rng_t& rng) {
  switch (below(rng, 4)) {
    case 0:
      return std::to_string(between(rng, 0, 20)) + "." + std::to_string(between(rng, 0, 40)) +
             "." + std::to_string(between(rng, 0, 99));
    case 1:
      return "10.0." + std::to_string(between(rng, 10240, 26100)) + "." +
             std::to_string(between(rng, 1, 5000));
    case 2:
      return "v" + std::to_string(between(rng, 0, 9)) + "." + std::to_string(between(rng, 0, 30)) +
             "." + std::to_string(between(rng, 0, 9)) + "-rc" + std::to_string(between(rng, 1, 5));
    default:
      return std::to_string(between(rng, 1, 4)) + "." + std::to_string(between(rng, 0, 12)) +
             ".0-beta." + std::to_string(between(rng, 1, 9));
  }
}

std::string neg_lab(rng_t& rng) {
  switch (below(rng, 5)) {
    case 0: return "Na " + std::to_string(between(rng, 125, 150)) + " mmol/L";
    case 1: return "K " + std::to_string(between(rng, 3, 5)) + "." + digits(rng, 1) + " mmol/L";
    case 2: return "glucose " + std::to_string(between(rng, 60, 300)) + " mg/dL";
    case 3: return "HbA1c " + std::to_string(between(rng, 4, 12)) + "." + digits(rng, 1) + "%";
    default: return "Cr 0." + digits(rng, 1) + " mg/dL";
  }
}

std::string neg_dose(rng_t& rng) {
  static constexpr const char* kDoses[] = {"1/2 tab", "1/2 tablet PO BID", "2 tabs PO q6h",
                                           "0.5 mg/kg", "1/4 tab daily", "10 mg PO QD"};
  return pick(rng, kDoses);
}

std::string neg_bp(rng_t& rng) {
  const std::string bp =
      std::to_string(between(rng, 90, 180)) + "/" + std::to_string(between(rng, 50, 110));
  return chance(rng, 50) ? bp : "BP " + bp + " mmHg";
}

std::string neg_icd10(rng_t& rng) {
  static constexpr const char* kCodes[] = {"E11.9", "I10", "Z79.4", "J45.909", "M54.5",
                                           "F32.A", "E78.5", "K21.9", "N18.3", "R51.9"};
  return pick(rng, kCodes);
}

std::string neg_ndc(rng_t& rng) {
  switch (below(rng, 3)) {
    case 0: return digits(rng, 4) + "-" + digits(rng, 4) + "-" + digits(rng, 2);
    case 1: return digits(rng, 5) + "-" + digits(rng, 3) + "-" + digits(rng, 2);
    default: return digits(rng, 5) + "-" + digits(rng, 4) + "-" + digits(rng, 1);
  }
}

std::string neg_timestamp(rng_t& rng) {
  const std::string secs = "1" + std::to_string(between(rng, 600000000, 799999999));
  return chance(rng, 70) ? secs : secs + digits(rng, 3);
}

std::string neg_logprob(rng_t& rng) {
  if (chance(rng, 30))
    return "-" + std::to_string(between(rng, 1, 9)) + "." + digits(rng, 4) + "e-05";
  return "-" + std::to_string(between(rng, 0, 12)) + "." + digits(rng, 4);
}

std::string neg_token_ids(rng_t& rng) {
  std::string s = "[";
  const int n = between(rng, 2, 12);
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(between(rng, 0, 100255));
  return s + "]";
}

}  // namespace

phi_value make_phi(const char* entity_or_pattern_kind, std::mt19937_64& rng) {
  const std::string_view name = entity_or_pattern_kind ? entity_or_pattern_kind : "";
  if (name == "ip" || name == "ip_address") return gen_ip(rng);
  return kind_or_throw(name).gen(rng);
}

std::vector<std::string> phi_kinds() {
  std::vector<std::string> out;
  for (const auto& k : kKinds) out.emplace_back(k.name);
  return out;
}

const char* phi_validator_name(const std::string& kind) {
  if (kind == "ip" || kind == "ip_address")
    throw std::invalid_argument("phi_values: 'ip' mixes ipv4 and ipv6");
  return kind_or_throw(kind).validator;
}

const char* phi_context_prefix(const std::string& kind) {
  if (kind == "ip" || kind == "ip_address") return "";
  return kind_or_throw(kind).context;
}

std::string make_hard_negative(std::mt19937_64& rng) {
  switch (below(rng, 12)) {
    case 0: return neg_uuid(rng);
    case 1: return neg_hash(rng);
    case 2: return neg_base64(rng);
    case 3: return neg_version(rng);
    case 4: return neg_lab(rng);
    case 5: return neg_dose(rng);
    case 6: return neg_bp(rng);
    case 7: return neg_icd10(rng);
    case 8: return neg_ndc(rng);
    case 9: return neg_timestamp(rng);
    case 10: return neg_logprob(rng);
    default: return neg_token_ids(rng);
  }
}

}  // namespace phigate::test
