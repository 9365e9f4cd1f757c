#include "dataplane/scan/pattern_names.hh"

namespace phigate::scan {

void pattern_names::add(const pattern_db& db) {
  entry e;
  e.serial = db.serial();
  for (const pattern_meta& m : db.patterns()) {
    e.entity.emplace_back(m.entity);
    e.id.emplace_back(m.id);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const entry& d : dbs_)
    if (d.serial == e.serial) return;
  dbs_.push_back(std::move(e));
  while (dbs_.size() > keep_) dbs_.pop_front();
}

const pattern_names::entry* pattern_names::find(uint32_t serial) const {
  if (dbs_.empty()) return nullptr;
  if (serial == 0) return &dbs_.back();
  for (const entry& d : dbs_)
    if (d.serial == serial) return &d;
  return nullptr;
}

bool pattern_names::lookup(uint32_t serial, uint32_t index, std::string& entity, std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const entry* d = find(serial);
  if (d == nullptr || index >= d->entity.size()) return false;
  entity = d->entity[index];
  id = d->id[index];
  return true;
}

std::vector<std::string> pattern_names::entities(uint32_t serial) const {
  std::lock_guard<std::mutex> lock(mu_);
  const entry* d = find(serial);
  return d != nullptr ? d->entity : std::vector<std::string>{};
}

}  // namespace phigate::scan
