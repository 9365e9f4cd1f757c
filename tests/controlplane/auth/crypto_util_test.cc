// Strict codecs (RFC 4648 vectors and every rejected spelling) and the allocation-free SHA-256
// checked against OpenSSL's EVP digest.
#include <openssl/evp.h>

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "controlplane/auth/crypto_util.hh"

namespace phigate::auth {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : vectors) {
    EXPECT_EQ(base64_encode(plain), enc);
    EXPECT_EQ(base64_decode(enc), std::optional<std::string>(plain)) << enc;
    std::string url(enc);
    while (!url.empty() && url.back() == '=') url.pop_back();
    EXPECT_EQ(base64url_encode(plain), url);
    EXPECT_EQ(base64url_decode(url), std::optional<std::string>(plain)) << url;
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RejectsEverySecondSpelling) {
  for (const char* bad : {"Zg=", "Zg", "Z", "Zh==", "Zm9=", "Zm9v=", "Zg==Zg==", "Z===", "Zm 9v", "-_8=", "Zm9v\n"})
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  for (const char* bad : {"Zg==", "Z", "Zh", "Zm9", "+/8", "Zm9v.", "Zm9vY", " Zm8"})
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 200; ++n) {
    std::string s(n, '\0');
    for (auto& c : s) c = char(rng());
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
}

TEST(Hex, LowercaseOnly) {
  EXPECT_EQ(hex_encode(std::string("\x00\xab\xff", 3)), "00abff");
  EXPECT_EQ(hex_decode("00abff"), std::string("\x00\xab\xff", 3));
  EXPECT_FALSE(hex_decode("00ABFF").has_value());
  EXPECT_FALSE(hex_decode("0").has_value());
  EXPECT_FALSE(hex_decode("0g").has_value());
}

TEST(Sha256, MatchesEvpOnEveryLengthUpTo300) {
  std::mt19937 rng(11);
  for (size_t n = 0; n <= 300; ++n) {
    std::string s(n, '\0');
    for (auto& c : s) c = char(rng());
    unsigned char ref[32];
    unsigned int len = 0;
    ASSERT_EQ(EVP_Digest(s.data(), s.size(), ref, &len, EVP_sha256(), nullptr), 1);
    sha256_digest d = sha256(s);
    EXPECT_EQ(std::string_view(reinterpret_cast<char*>(ref), 32), as_chars(d)) << n;
    size_t a = n / 3, b = n / 2;
    EXPECT_EQ(sha256_concat(std::string_view(s).substr(0, a), std::string_view(s).substr(a, b - a),
                            std::string_view(s).substr(b)),
              d);
  }
  EXPECT_EQ(hex_encode(as_chars(sha256("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace phigate::auth
