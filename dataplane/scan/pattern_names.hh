#pragma once
// Names of the patterns of every database a process has run, by pattern_db::serial(): findings
// carry a pattern index and the serial of the database they were made with, and are named later
// on another thread (audit records, recordings, stats), possibly after that database was swapped
// out and freed. Only names are kept (a few KB per database), for the last `keep` databases.
//
// Threads: add() from the thread that installs databases; lookups from any (a mutex: drain and
// stats threads only, never an lcore).
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/scan/pattern_db.hh"

namespace phigate::scan {

class pattern_names {
 public:
  explicit pattern_names(size_t keep = 64) : keep_(keep) {}
  void add(const pattern_db& db);
  // Entity and pattern id of pattern `index` of the database with `serial`; false when unknown
  // (never registered, forgotten, or out of range). serial 0: the newest database.
  bool lookup(uint32_t serial, uint32_t index, std::string& entity, std::string& id) const;
  // Pattern entities of database `serial` in index order (empty when unknown).
  std::vector<std::string> entities(uint32_t serial) const;

 private:
  struct entry {
    uint32_t serial;
    std::vector<std::string> entity, id;
  };
  const entry* find(uint32_t serial) const;
  size_t keep_;
  mutable std::mutex mu_;
  std::deque<entry> dbs_;
};

}  // namespace phigate::scan
