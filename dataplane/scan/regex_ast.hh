#pragma once
// Syntax tree for the pattern-set regex subset (see pattern_format.md) and the two
// derived languages the engine needs because streaming Hyperscan reports match ENDS only:
//
//  * reverse:  ^(?:rev(P)) run over the reversed text window ending at a reported end
//    recovers the match starts (no HS_FLAG_SOM_LEFTMOST, which costs 3-8x).
//  * prefix closure: ^(?:rev(Pre(P))) run over the reversed tail of a segment tells how
//    many trailing bytes might still grow into a match and so must be held back.
//
// Everything here is setup code (pattern loading/compiling): it allocates and returns
// errors as values; nothing throws out of these functions. Pure, no global state:
// callable from any thread.
//
// The subset is deliberately narrow: no '.', negated classes or \D \W \S (they would match
// the engine's field separator 0x1F and let a match run across two JSON fields), no
// lookaround, backreferences, inline flags, lazy/possessive quantifiers. Any character set
// that contains 0x1F or a byte >= 0x80 is rejected for the same reason (logical text is
// ASCII plus separators; non-ASCII bytes would cut UTF-8 sequences).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phigate::scan {

// One member of a character set: an inclusive byte range or a class escape.
enum class char_item_kind : uint8_t { range, digit /* \d */, word /* \w */, space /* \s */ };
struct char_item {
  char_item_kind kind;
  uint8_t lo, hi;  // only for range; lo <= hi
};

enum class regex_op : uint8_t {
  empty,              // matches the empty string
  chars,              // one byte out of `items` (a literal is a one-item range)
  concat,             // kids in order
  alt,                // any of kids
  repeat,             // kids[0]{min,max}
  word_boundary,      // \b
  not_word_boundary,  // \B
  text_begin,         // ^
  text_end,           // $
};

inline constexpr uint32_t regex_unbounded = UINT32_MAX;

// Nodes live in one arena and refer to each other by index, so a transform may point two
// parents at the same child: shared subexpressions cost nothing until printed.
struct regex_node {
  regex_op op = regex_op::empty;
  std::vector<char_item> items;  // chars
  std::vector<uint32_t> kids;    // concat, alt: >= 2 normally; repeat: exactly 1
  uint32_t min = 0, max = 0;     // repeat; max may be regex_unbounded
};

struct regex_tree {
  std::vector<regex_node> nodes;
  uint32_t root = 0;
};

struct regex_parse_result {
  bool ok = false;
  regex_tree tree;
  std::string error;        // reason only; never echoes the expression text
  size_t error_offset = 0;  // byte offset into the expression
};

struct regex_result {
  bool ok = false;
  std::string expr;  // Hyperscan syntax, to be embedded as ^(?:expr)
  std::string error;
  size_t error_offset = 0;
};

// Longest accepted expression and deepest group nesting (bounds recursion).
inline constexpr size_t regex_max_expression_bytes = 4096;
inline constexpr uint32_t regex_max_depth = 32;
// Upper bound for {n,m} counts; patterns are capped at 255 bytes anyway.
inline constexpr uint32_t regex_max_repeat = 1000;

regex_parse_result regex_parse(std::string_view expr);

// Prints a tree in the subset's own syntax (capturing groups come back as (?:...), literals
// are escaped canonically); regex_parse(regex_print(t)) gives an equivalent tree.
std::string regex_print(const regex_tree& tree);

// True if byte c belongs to the set (\s is [\t\n\v\f\r ], \w is [0-9A-Za-z_], as Hyperscan
// defines them without HS_FLAG_UCP). Case folding is not applied here.
bool char_items_contain(const std::vector<char_item>& items, uint8_t c);

// Tree transforms; each returns a new tree and leaves the input untouched.
regex_tree regex_tree_reverse(const regex_tree& tree);
regex_tree regex_tree_prefix_closure(const regex_tree& tree);
// Removes the assertions in trailing position (those that can be the last thing a match
// passes), keeping every other node. The language can only grow.
regex_tree regex_tree_drop_trailing_assertions(const regex_tree& tree);

// parse + print: the canonical form of an accepted expression.
regex_result regex_normalize(std::string_view expr);
// L(out) = { reverse(w) : w in L(expr) }. \b and \B are kept (symmetric); ^ and $ swap.
regex_result regex_reverse(std::string_view expr);
// L(out) contains every prefix (including the empty word and the whole word) of every word
// of L(expr). Every assertion (\b \B ^ $) is dropped, anywhere: the result is a superset
// that does not depend on what lies outside the scanned window, so the hold-back scan never
// under-holds because a window edge hid the context an assertion would look at.
regex_result regex_prefix_closure(std::string_view expr);
// reverse(prefix closure): what the hold-back scan compiles as ^(?:...).
regex_result regex_reverse_prefix_closure(std::string_view expr);
// rev(R) without R's trailing assertions: what the start scan compiles as ^(?:...).
// The forward stream scan has already checked those assertions at the reported end e, using
// the byte after e, which the reversed buffer does not hold. Re-checking them against the
// buffer edge would lose starts (R = "\d{3}\B" before a letter) or not compile at all
// (Hyperscan proves ^(?:\B\d{3}) can never match). The result matches reverse(w) for
// every match w of R; it may also accept a few more words when R has an alternative whose
// trailing assertion failed at e (a longer start: over-masking, never under-masking).
regex_result regex_reverse_for_start(std::string_view expr);

}  // namespace phigate::scan
