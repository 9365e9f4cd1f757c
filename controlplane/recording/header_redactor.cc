#include "controlplane/recording/header_redactor.hh"

#include <array>

namespace phigate::recording {

namespace {

constexpr std::array<std::string_view, 4> builtin_names = {"authorization", "proxy-authorization", "x-api-key",
                                                           "cookie"};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool ows(char c) { return c == ' ' || c == '\t'; }

}  // namespace

header_redactor::header_redactor(std::span<const std::string> extra_names) {
  for (const std::string& n : extra_names) {
    if (n.empty() || n.size() > redactor_max_name_bytes) continue;
    std::string l;
    for (char c : n) l.push_back(lower(c));
    extra_.push_back(std::move(l));
  }
}

bool header_redactor::sensitive(std::string_view name) const {
  while (!name.empty() && ows(name.back())) name.remove_suffix(1);
  for (std::string_view b : builtin_names)
    if (name == b) return true;
  for (const std::string& e : extra_)
    if (name == e) return true;
  return false;
}

bool header_redactor::feed(std::span<const uint8_t> in, std::string& out, std::vector<int64_t>* out_index) {
  const size_t base = out.size();
  bool edited = false;
  if (out_index != nullptr) out_index->assign(in.size(), -1);
  auto keep = [&](size_t i, char c) {
    if (out_index != nullptr) (*out_index)[i] = static_cast<int64_t>(out.size() - base);
    out.push_back(c);
  };

  for (size_t i = 0; i < in.size(); ++i) {
    const char c = static_cast<char>(in[i]);
    switch (state_) {
      case state::line_start:
        if (c == '\n') {
          last_line_redacted_ = false;
          keep(i, c);
          break;
        }
        if (ows(c) && last_line_redacted_) {
          keep(i, c);
          state_ = state::value_ows;
          break;
        }
        last_line_redacted_ = false;
        name_len_ = 0;
        name_overflow_ = false;
        state_ = state::name;
        [[fallthrough]];
      case state::name:
        if (c == ':') {
          keep(i, c);
          if (!name_overflow_ && sensitive(std::string_view(name_, name_len_))) {
            state_ = state::value_ows;
            last_line_redacted_ = true;
          } else {
            state_ = state::other;
          }
        } else if (c == '\n') {
          keep(i, c);
          state_ = state::line_start;
        } else {
          keep(i, c);
          if (name_len_ < redactor_max_name_bytes)
            name_[name_len_++] = lower(c);
          else
            name_overflow_ = true;
        }
        break;
      case state::value_ows:
        if (ows(c)) {
          keep(i, c);
          break;
        }
        out.append(redacted_text);
        edited = true;
        state_ = state::value;
        [[fallthrough]];
      case state::value:
        // A CR ends the value only when LF follows, which may be in the next segment: hold it.
        if (c == '\n') {
          if (pending_cr_) {
            out.push_back('\r');
            edited = true;
          }
          pending_cr_ = false;
          keep(i, c);
          state_ = state::line_start;
        } else {
          pending_cr_ = (c == '\r');
          edited = true;
        }
        break;
      case state::other:
        keep(i, c);
        if (c == '\n') state_ = state::line_start;
        break;
    }
  }
  return edited;
}

}  // namespace phigate::recording
