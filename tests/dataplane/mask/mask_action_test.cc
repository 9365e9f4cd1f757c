// mask_apply: each kind's bytes, and applying an action piecewise (to buffers split anywhere, as
// held TCP segments are) gives the bytes of applying it whole.
#include "dataplane/mask/mask_action.hh"

#include <gtest/gtest.h>

#include <string>

namespace phigate::mask {
namespace {

std::string apply_whole(std::string s, const mask_action& a) {
  mask_apply(reinterpret_cast<uint8_t*>(s.data()), s.size(), 0, a);
  return s;
}

TEST(MaskApply, EachKind) {
  // The action covers [2, 2 + len); bytes around it stay.
  EXPECT_EQ(apply_whole("x:123-45-6789:y", {2, 11, mask_kind::text_alnum}), "x:***-**-****:y");
  EXPECT_EQ(apply_whole("x:a\xc3\xa9-b:y", {2, 5, mask_kind::text_alnum}), "x:***-*:y");
  EXPECT_EQ(apply_whole("x:12-ab:y", {2, 5, mask_kind::text_all}), "x:*****:y");
  EXPECT_EQ(apply_whole("[1234567890.5e3]", {1, 14, mask_kind::number}), "[9999999999.9e9]");
  EXPECT_EQ(apply_whole("-1.25E+07", {0, 9, mask_kind::number}), "-9.99E+99");
  EXPECT_EQ(apply_whole("\"\\u0031\\uD83D\\uDE00\"", {1, 18, mask_kind::json_escape}),
            "\"\\u002a\\u002a\\u002a\"");
  EXPECT_EQ(apply_whole("a\\nb", {1, 2, mask_kind::short_escape}), "a**b");
  EXPECT_EQ(apply_whole("a\xef\xbc\x91z", {1, 3, mask_kind::utf8_char}), "a***z");
}

TEST(MaskApply, ReturnsBytesRewrittenInsideTheBuffer) {
  std::string s = "0123456789";
  auto* p = reinterpret_cast<uint8_t*>(s.data());
  // Buffer at stream offset 100: an action before, after, straddling each edge, and inside.
  EXPECT_EQ(mask_apply(p, s.size(), 100, {90, 10, mask_kind::text_all}), 0u);
  EXPECT_EQ(mask_apply(p, s.size(), 100, {110, 5, mask_kind::text_all}), 0u);
  EXPECT_EQ(s, "0123456789");
  EXPECT_EQ(mask_apply(p, s.size(), 100, {95, 7, mask_kind::text_all}), 2u);
  EXPECT_EQ(mask_apply(p, s.size(), 100, {108, 9, mask_kind::number}), 2u);
  EXPECT_EQ(mask_apply(p, s.size(), 100, {104, 1, mask_kind::text_alnum}), 1u);
  EXPECT_EQ(s, "**23*56799");
  EXPECT_EQ(mask_apply(p, 0, 100, {100, 5, mask_kind::text_all}), 0u);
}

TEST(MaskApply, PiecewiseEqualsWholeAtEverySplit) {
  const std::string input = "{\"v\":\"\\u0031\\u0032\\uD83D\\uDE00x-9\",\"n\":-12.5e3}";
  const mask_action actions[] = {
      {6, 24, mask_kind::json_escape}, {30, 3, mask_kind::text_alnum}, {39, 8, mask_kind::number},
      {5, 30, mask_kind::text_all},    {7, 5, mask_kind::json_escape}, {8, 2, mask_kind::short_escape},
  };
  for (const mask_action& a : actions) {
    const std::string whole = apply_whole(input, a);
    for (size_t cut1 = 0; cut1 <= input.size(); ++cut1) {
      for (size_t cut2 = cut1; cut2 <= input.size(); ++cut2) {
        // Three separate buffers, as three held segments at their stream offsets.
        std::string pieces[3] = {input.substr(0, cut1), input.substr(cut1, cut2 - cut1), input.substr(cut2)};
        const uint64_t offs[3] = {0, cut1, cut2};
        size_t total = 0;
        for (int k = 0; k < 3; ++k)
          total += mask_apply(reinterpret_cast<uint8_t*>(pieces[k].data()), pieces[k].size(), offs[k], a);
        ASSERT_EQ(pieces[0] + pieces[1] + pieces[2], whole) << "kind " << int(a.kind) << " cuts " << cut1 << "," << cut2;
        ASSERT_EQ(total, std::min<size_t>(a.raw_off + a.raw_len, input.size()) - a.raw_off);
      }
    }
  }
}

}  // namespace
}  // namespace phigate::mask
