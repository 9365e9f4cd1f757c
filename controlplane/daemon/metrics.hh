#pragma once
// Prometheus text exposition (version 0.0.4) of the appliance's counters: the dataplane's stats
// socket document plus the control plane's own. Counts, reasons and entity names only.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace phigate::cp {

// Every number in `dp_stats` becomes phigate_dp_<name>; a nested object of numbers becomes one
// metric with a label (drops{reason}, findings_by_entity{entity}, decisions{outcome}, ...).
// `cp` are extra gauges as (name, value), emitted as phigate_cp_<name>.
std::string prometheus_text(const nlohmann::json& dp_stats, bool dp_up,
                            const std::vector<std::pair<std::string, double>>& cp);

// Reads the dataplane's stats socket (one JSON document per connection); null on failure.
nlohmann::json read_dp_stats(const std::string& socket_path);

}  // namespace phigate::cp
