// Pattern set loader: JSON -> pattern_set, with every structural and semantic error
// reported as a value. The JSON library may throw internally (parse errors, allocation);
// everything is caught at the API boundary.
#include "dataplane/scan/pattern_set.hh"

#include <hs.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "dataplane/scan/regex_ast.hh"

namespace phigate::scan {
namespace {

using json = nlohmann::json;

constexpr const char* safe_harbor_names[] = {
    "names",   "geographic", "dates",   "telephone", "fax",       "email",
    "ssn",     "mrn",        "health_plan", "account", "license", "vehicle",
    "device",  "url",        "ip",      "biometric", "photo",     "other_id",
};

constexpr size_t max_keywords_per_entry = 64;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

load_error err(std::string where, std::string reason) {
  return load_error{std::move(where), std::move(reason)};
}

// Rejects any key of `obj` not in `known`: a misspelt optional field must not be ignored.
std::optional<load_error> check_keys(const json& obj, std::initializer_list<const char*> known,
                                     const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (const char* k : known) {
      if (it.key() == k) ok = true;
    }
    if (!ok) {
      // Keys are names, not values, but cap them: a hostile file may use a huge key.
      std::string key = it.key().size() > 48 ? it.key().substr(0, 48) + "..." : it.key();
      return err(where + "." + key, "unknown field");
    }
  }
  return std::nullopt;
}

bool get_int(const json& j, int64_t lo, int64_t hi, int64_t& out) {
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(hi)) return false;
    out = static_cast<int64_t>(v);
  } else if (j.is_number_integer()) {
    out = j.get<int64_t>();
  } else {
    return false;
  }
  return out >= lo && out <= hi;
}

std::string range_reason(int64_t lo, int64_t hi) {
  return "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
}

std::optional<load_error> parse_examples(const json& j, const std::string& where,
                                         pattern_entry& e) {
  if (!j.is_object()) return err(where, "must be an object with \"match\" and \"no_match\"");
  if (auto k = check_keys(j, {"match", "no_match"}, where)) return k;
  for (const char* list : {"match", "no_match"}) {
    std::string lw = where + "." + list;
    auto it = j.find(list);
    if (it == j.end()) return err(lw, "missing required field");
    if (!it->is_array()) return err(lw, "must be an array");
    bool is_match = std::string_view(list) == "match";
    size_t i = 0;
    for (const json& item : *it) {
      std::string iw = lw + "[" + std::to_string(i++) + "]";
      pattern_example ex;
      if (item.is_string()) {
        ex.text = item.get<std::string>();
      } else if (is_match && item.is_object()) {
        if (auto k = check_keys(item, {"text", "value"}, iw)) return k;
        auto t = item.find("text");
        auto v = item.find("value");
        if (t == item.end() || !t->is_string()) return err(iw + ".text", "must be a string");
        if (v == item.end() || !v->is_string()) return err(iw + ".value", "must be a string");
        ex.text = t->get<std::string>();
        ex.value = v->get<std::string>();
        if (ex.value.empty()) return err(iw + ".value", "must not be empty");
      } else {
        return err(iw, is_match ? "must be a string or {\"text\", \"value\"}" : "must be a string");
      }
      (is_match ? e.match : e.no_match).push_back(std::move(ex));
    }
  }
  return std::nullopt;
}

std::optional<load_error> parse_context(const json& j, const std::string& where,
                                        pattern_entry& e) {
  if (!j.is_object()) return err(where, "must be an object with \"keywords\" and \"window\"");
  if (auto k = check_keys(j, {"keywords", "window"}, where)) return k;
  auto kw = j.find("keywords");
  if (kw == j.end()) return err(where + ".keywords", "missing required field");
  if (!kw->is_array()) return err(where + ".keywords", "must be an array of strings");
  size_t i = 0;
  for (const json& k : *kw) {
    if (!k.is_string()) {
      return err(where + ".keywords[" + std::to_string(i) + "]", "must be a string");
    }
    std::string s = k.get<std::string>();
    for (char& c : s) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    e.keywords.push_back(std::move(s));
    ++i;
  }
  auto w = j.find("window");
  if (w == j.end()) return err(where + ".window", "missing required field");
  int64_t v = 0;
  if (!get_int(*w, 1, pattern_max_context_window, v)) {
    return err(where + ".window", range_reason(1, pattern_max_context_window));
  }
  e.context_window = static_cast<uint8_t>(v);
  return std::nullopt;
}

// JSON -> entry; types and field presence only. Semantics: pattern_entry_check.
std::optional<load_error> parse_entry(const json& j, size_t index, pattern_entry& e) {
  std::string where = "patterns[" + std::to_string(index) + "]";
  if (!j.is_object()) return err(where, "must be an object");
  // The id first, so that every later message can name the entry.
  auto id = j.find("id");
  if (id == j.end()) return err(where + ".id", "missing required field");
  if (!id->is_string() || !pattern_id_valid(id->get_ref<const std::string&>())) {
    return err(where + ".id", "must match [a-z0-9][a-z0-9-]{0,46}");
  }
  e.id = id->get<std::string>();
  where = pattern_entry_where(index, e.id);

  if (auto k = check_keys(j, {"id", "entity", "safe_harbor", "expression", "flags", "max_length",
                              "validator", "context", "mask", "examples"},
                          where)) {
    return k;
  }
  for (auto [field, dst] : {std::pair{"entity", &e.entity}, std::pair{"safe_harbor", &e.safe_harbor},
                            std::pair{"expression", &e.expression}}) {
    auto it = j.find(field);
    if (it == j.end()) return err(where + "." + field, "missing required field");
    if (!it->is_string()) return err(where + "." + field, "must be a string");
    *dst = it->get<std::string>();
  }

  auto ml = j.find("max_length");
  if (ml == j.end()) return err(where + ".max_length", "missing required field");
  int64_t v = 0;
  if (!get_int(*ml, 1, pattern_max_length_limit, v)) {
    return err(where + ".max_length", range_reason(1, pattern_max_length_limit));
  }
  e.max_length = static_cast<uint16_t>(v);

  if (auto f = j.find("flags"); f != j.end()) {
    if (!f->is_array()) return err(where + ".flags", "must be an array of strings");
    size_t i = 0;
    for (const json& flag : *f) {
      std::string fw = where + ".flags[" + std::to_string(i++) + "]";
      if (!flag.is_string() || flag.get_ref<const std::string&>() != "caseless") {
        return err(fw, "unknown flag (supported: caseless)");
      }
      if (e.flags & HS_FLAG_CASELESS) return err(fw, "duplicate flag");
      e.flags |= HS_FLAG_CASELESS;
    }
  }

  if (auto val = j.find("validator"); val != j.end()) {
    if (!val->is_string() ||
        !validate::validator_from_name(val->get_ref<const std::string&>(), e.validator)) {
      return err(where + ".validator", "unknown validator");
    }
  }

  if (auto m = j.find("mask"); m != j.end()) {
    if (m->is_string() && m->get_ref<const std::string&>() == "alnum") {
      e.mask = mask_style::alnum;
    } else if (m->is_string() && m->get_ref<const std::string&>() == "all") {
      e.mask = mask_style::all;
    } else {
      return err(where + ".mask", "must be \"alnum\" or \"all\"");
    }
  }

  if (auto c = j.find("context"); c != j.end()) {
    if (auto r = parse_context(*c, where + ".context", e)) return r;
  }

  auto ex = j.find("examples");
  if (ex == j.end()) return err(where + ".examples", "missing required field");
  return parse_examples(*ex, where + ".examples", e);
}

std::optional<load_error> parse_document(const json& doc, pattern_set& out) {
  if (!doc.is_object()) return err("(document)", "top level must be an object");
  if (auto k = check_keys(doc, {"name", "version", "description", "patterns"}, "(document)")) {
    // "(document).foo" reads oddly; report top-level fields by their own name.
    k->where = k->where.substr(sizeof("(document).") - 1);
    return k;
  }
  auto name = doc.find("name");
  if (name == doc.end()) return err("name", "missing required field");
  if (!name->is_string()) return err("name", "must be a string");
  out.name = name->get<std::string>();

  auto ver = doc.find("version");
  if (ver == doc.end()) return err("version", "missing required field");
  int64_t v = 0;
  if (!get_int(*ver, 1, INT_MAX, v)) return err("version", "must be an integer >= 1");
  out.version = static_cast<int>(v);

  if (auto d = doc.find("description"); d != doc.end()) {
    if (!d->is_string()) return err("description", "must be a string");
    out.description = d->get<std::string>();
  }

  auto pats = doc.find("patterns");
  if (pats == doc.end()) return err("patterns", "missing required field");
  if (!pats->is_array()) return err("patterns", "must be an array");
  if (pats->empty() || pats->size() > pattern_set_max_entries) {
    return err("patterns", "must hold 1..512 entries");
  }
  out.entries.reserve(pats->size());
  size_t i = 0;
  for (const json& j : *pats) {
    pattern_entry e;
    if (auto r = parse_entry(j, i, e)) return r;
    out.entries.push_back(std::move(e));
    ++i;
  }
  return pattern_set_check(out);
}

}  // namespace

bool pattern_id_valid(std::string_view id) {
  if (id.empty() || id.size() > 47 || !lower_alnum(id[0])) return false;
  for (char c : id) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

bool pattern_entity_valid(std::string_view entity) {
  if (entity.empty() || entity.size() > 23) return false;
  for (char c : entity) {
    if (!lower_alnum(c) && c != '_') return false;
  }
  return true;
}

bool pattern_set_name_valid(std::string_view name) {
  if (name.empty() || name.size() > 47) return false;
  for (char c : name) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

bool safe_harbor_valid(std::string_view safe_harbor) {
  for (const char* s : safe_harbor_names) {
    if (safe_harbor == s) return true;
  }
  return false;
}

std::string pattern_entry_where(size_t index, std::string_view id) {
  std::string w = "patterns[" + std::to_string(index) + "]";
  if (pattern_id_valid(id)) {
    w += " (id ";
    w += id;
    w += ")";
  }
  return w;
}

std::optional<load_error> pattern_entry_check(const pattern_entry& e, size_t index) {
  std::string where = pattern_entry_where(index, e.id);
  if (!pattern_id_valid(e.id)) return err(where + ".id", "must match [a-z0-9][a-z0-9-]{0,46}");
  if (!pattern_entity_valid(e.entity)) {
    return err(where + ".entity", "must match [a-z0-9_]{1,23}");
  }
  if (!safe_harbor_valid(e.safe_harbor)) {
    return err(where + ".safe_harbor",
               "unknown safe_harbor (one of the 18 identifiers of 45 CFR 164.514(b)(2)(i): "
               "names, geographic, dates, telephone, fax, email, ssn, mrn, health_plan, "
               "account, license, vehicle, device, url, ip, biometric, photo, other_id)");
  }
  if ((e.flags & ~static_cast<unsigned>(HS_FLAG_CASELESS)) != 0) {
    return err(where + ".flags", "only the caseless flag is supported");
  }
  if (static_cast<size_t>(e.validator) >= validate::validator_count) {
    return err(where + ".validator", "unknown validator");
  }
  if (e.mask != mask_style::alnum && e.mask != mask_style::all) {
    return err(where + ".mask", "must be \"alnum\" or \"all\"");
  }
  if (e.max_length < 1 || e.max_length > pattern_max_length_limit) {
    return err(where + ".max_length", range_reason(1, pattern_max_length_limit));
  }

  // Context: both present or both absent.
  if (e.keywords.empty() != (e.context_window == 0)) {
    return err(where + ".context", "needs at least one keyword and a window");
  }
  if (e.context_window > pattern_max_context_window) {
    return err(where + ".context.window", range_reason(1, pattern_max_context_window));
  }
  if (e.keywords.size() > max_keywords_per_entry) {
    return err(where + ".context.keywords", "more than 64 keywords");
  }
  for (size_t i = 0; i < e.keywords.size(); ++i) {
    const std::string& k = e.keywords[i];
    std::string kw = where + ".context.keywords[" + std::to_string(i) + "]";
    if (k.empty()) return err(kw, "must not be empty");
    if (k.size() > e.context_window) return err(kw, "longer than the context window");
    for (char c : k) {
      auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7F) return err(kw, "must be printable ASCII");
      if (c >= 'A' && c <= 'Z') return err(kw, "must be lower case");
    }
    for (size_t j = 0; j < i; ++j) {
      if (e.keywords[j] == k) return err(kw, "duplicate keyword");
    }
  }

  if (e.match.empty()) return err(where + ".examples.match", "needs at least one example");
  if (e.no_match.empty()) return err(where + ".examples.no_match", "needs at least one example");
  for (size_t i = 0; i < e.match.size(); ++i) {
    const pattern_example& ex = e.match[i];
    std::string xw = where + ".examples.match[" + std::to_string(i) + "]";
    if (ex.text.empty()) return err(xw, "must not be empty");
    if (!ex.value.empty() && ex.text.find(ex.value) == std::string::npos) {
      return err(xw + ".value", "does not occur in text");
    }
  }

  std::string ew = where + ".expression";
  regex_parse_result p = regex_parse(e.expression);
  if (!p.ok) return err(ew, "offset " + std::to_string(p.error_offset) + ": " + p.error);

  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* cerr = nullptr;
  if (hs_expression_info(e.expression.c_str(), e.flags, &info, &cerr) != HS_SUCCESS) {
    std::string msg = cerr && cerr->message ? cerr->message : "hs_expression_info failed";
    hs_free_compile_error(cerr);
    return err(ew, msg);
  }
  unsigned min_width = info->min_width;
  unsigned max_width = info->max_width;
  std::free(info);  // allocated with the misc allocator, malloc by default
  if (max_width == UINT_MAX) {
    return err(ew, "unbounded match width; bound every repeat so max_length can hold");
  }
  if (min_width == 0) return err(ew, "can match the empty string");
  if (max_width > e.max_length) {
    return err(where + ".max_length", "declared " + std::to_string(e.max_length) +
                                          " is below the expression's maximum width " +
                                          std::to_string(max_width));
  }
  return std::nullopt;
}

std::optional<load_error> pattern_set_check(const pattern_set& set) {
  if (set.origins.empty()) {
    if (!pattern_set_name_valid(set.name)) return err("name", "must match [a-z0-9-]{1,47}");
  } else {
    if (set.origins.size() < 2 || set.origins.size() > pattern_set_max_merged) {
      return err("origins", "a merged set has 2..16 member sets");
    }
    std::string joined;
    for (size_t k = 0; k < set.origins.size(); ++k) {
      const pattern_set_origin& o = set.origins[k];
      const std::string ow = "origins[" + std::to_string(k) + "]";
      if (!pattern_set_name_valid(o.name)) return err(ow + ".name", "must match [a-z0-9-]{1,47}");
      if (o.version < 1) return err(ow + ".version", "must be an integer >= 1");
      for (size_t j = 0; j < k; ++j) {
        if (set.origins[j].name == o.name) return err(ow + ".name", "duplicate set name");
      }
      if (k) joined += '+';
      joined += o.name;
    }
    if (set.name != joined) return err("name", "a merged set is named after its members joined by '+'");
  }
  if (set.version < 1) return err("version", "must be an integer >= 1");
  if (set.entries.empty() || set.entries.size() > pattern_set_max_entries) {
    return err("patterns", "must hold 1..512 entries");
  }
  const size_t origin_count = set.origins.empty() ? 1 : set.origins.size();
  std::set<std::string_view> ids;
  for (size_t i = 0; i < set.entries.size(); ++i) {
    if (auto r = pattern_entry_check(set.entries[i], i)) return r;
    if (set.entries[i].origin >= origin_count) {
      return err(pattern_entry_where(i, set.entries[i].id) + ".origin", "not one of the set's origins");
    }
    if (!ids.insert(set.entries[i].id).second) {
      return err(pattern_entry_where(i, set.entries[i].id) + ".id", "duplicate id");
    }
  }
  return std::nullopt;
}

std::variant<pattern_set, load_error> pattern_set_merge(std::vector<pattern_set> sets) {
  try {
    if (sets.empty()) return err("(pattern sets)", "no pattern set given");
    if (sets.size() > pattern_set_max_merged) {
      return err("(pattern sets)", "more than 16 pattern sets");
    }
    for (const pattern_set& s : sets) {
      // Names are checked before they are quoted in any message below.
      const std::string label = pattern_set_name_valid(s.name) ? s.name : std::string("(unnamed set)");
      if (!s.origins.empty()) return err(label, "is already a merged set");
      if (auto r = pattern_set_check(s)) return err(label + ": " + r->where, r->reason);
    }
    if (sets.size() == 1) return std::move(sets[0]);

    pattern_set out;
    size_t total = 0;
    for (const pattern_set& s : sets) total += s.entries.size();
    if (total > pattern_set_max_entries) {
      return err("(pattern sets)", "the sets hold " + std::to_string(total) +
                                       " entries together, more than 512");
    }
    // id -> (set index, entry index) of its first appearance, to name both on a clash.
    std::map<std::string, std::pair<size_t, size_t>> seen;
    for (size_t k = 0; k < sets.size(); ++k) {
      for (size_t j = 0; j < k; ++j) {
        if (sets[j].name == sets[k].name) {
          return err(sets[k].name, "pattern set name given twice (sets " + std::to_string(j) +
                                       " and " + std::to_string(k) + ")");
        }
      }
      for (size_t i = 0; i < sets[k].entries.size(); ++i) {
        const std::string& id = sets[k].entries[i].id;
        auto [it, fresh] = seen.emplace(id, std::pair{k, i});
        if (!fresh) {
          const auto [pk, pi] = it->second;
          return err(sets[k].name + ": " + pattern_entry_where(i, id) + ".id",
                     "duplicate id: also in pattern set " + sets[pk].name + " (" +
                         pattern_entry_where(pi, id) + ")");
        }
      }
    }
    out.version = 1;
    out.description = "merged:";
    for (size_t k = 0; k < sets.size(); ++k) {
      if (k) out.name += '+';
      out.name += sets[k].name;
      out.description += (k ? ", " : " ") + sets[k].name + " v" + std::to_string(sets[k].version);
      out.origins.push_back({sets[k].name, sets[k].version});
    }
    out.entries.reserve(total);
    for (size_t k = 0; k < sets.size(); ++k) {
      for (pattern_entry& e : sets[k].entries) {
        e.origin = static_cast<uint8_t>(k);
        out.entries.push_back(std::move(e));
      }
    }
    return out;
  } catch (const std::bad_alloc&) {
    return err("(pattern sets)", "out of memory");
  } catch (const std::exception&) {
    return err("(pattern sets)", "internal error while merging");
  }
}

std::variant<pattern_set, load_error> pattern_set_parse(std::string_view json_text,
                                                        std::string_view source_name) {
  std::string src = source_name.empty() ? std::string("(input)") : std::string(source_name);
  try {
    // Duplicate keys: nlohmann keeps the last silently; a repeated field is as much a typo
    // as an unknown one. The callback sees every key; one set of seen keys per open object.
    std::vector<std::set<std::string>> open;
    bool duplicate = false;
    std::string duplicate_key;
    json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
      switch (ev) {
        case json::parse_event_t::object_start:
          open.emplace_back();
          break;
        case json::parse_event_t::object_end:
          if (!open.empty()) open.pop_back();
          break;
        case json::parse_event_t::key:
          if (!open.empty() && parsed.is_string() &&
              !open.back().insert(parsed.get<std::string>()).second && !duplicate) {
            duplicate = true;
            duplicate_key = parsed.get<std::string>();
          }
          break;
        default:
          break;
      }
      return true;
    };
    json doc;
    try {
      doc = json::parse(json_text.begin(), json_text.end(), cb, /*allow_exceptions=*/true,
                        /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
      // e.what() quotes the text around the error, which may be an example value.
      return err(src, "JSON syntax error at byte " + std::to_string(e.byte));
    }
    if (duplicate) {
      if (duplicate_key.size() > 48) duplicate_key = duplicate_key.substr(0, 48) + "...";
      return err(src, "duplicate key \"" + duplicate_key + "\" in an object");
    }
    pattern_set out;
    if (auto r = parse_document(doc, out)) return *r;
    return out;
  } catch (const std::bad_alloc&) {
    return err(src, "out of memory");
  } catch (const std::exception&) {
    return err(src, "internal error while loading");
  }
}

std::variant<pattern_set, load_error> pattern_set_load(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) return err(path, "cannot open file");
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    if (size < 0) return err(path, "cannot read file");
    if (static_cast<uint64_t>(size) > pattern_set_max_file_bytes) {
      return err(path, "file larger than 16 MiB");
    }
    in.seekg(0, std::ios::beg);
    std::string text(static_cast<size_t>(size), '\0');
    if (!in.read(text.data(), size)) return err(path, "cannot read file");
    return pattern_set_parse(text, path);
  } catch (const std::exception&) {
    return err(path, "cannot read file");
  }
}

}  // namespace phigate::scan

namespace phigate::scan {

std::variant<pattern_set, load_error> pattern_set_load_all(const std::vector<std::string>& paths) {
  std::vector<pattern_set> sets;
  for (const std::string& path : paths) {
    auto one = pattern_set_load(path);
    if (auto* e = std::get_if<load_error>(&one)) return load_error{path + ": " + e->where, e->reason};
    sets.push_back(std::move(std::get<pattern_set>(one)));
  }
  return pattern_set_merge(std::move(sets));
}

}  // namespace phigate::scan
