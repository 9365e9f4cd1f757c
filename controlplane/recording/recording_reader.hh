#pragma once
// Reads a sealed session recording back: the whole file is authenticated and decrypted before
// anything is parsed, so a modified, damaged or truncated file yields an error and no events.
//
// Setup/tool code (phigate replay, the control plane's export): allocates, returns errors as
// values, any thread.
#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "controlplane/recording/recording_file.hh"
#include "controlplane/recording/recording_key.hh"
#include "controlplane/recording/recording_types.hh"

namespace phigate::recording {

// A whole recording file in memory, read with a size bound (recording_max_file_bytes).
std::variant<std::string, recording_error> recording_file_load(const std::string& path);

// Authenticates, decrypts and parses file bytes. format_version and key_id are filled in.
std::variant<recording, recording_error> recording_decrypt(std::span<const uint8_t> file, const recording_key& key);

// recording_file_load + recording_decrypt; errors name the path.
std::variant<recording, recording_error> recording_read(const std::string& path, const recording_key& key);

}  // namespace phigate::recording
