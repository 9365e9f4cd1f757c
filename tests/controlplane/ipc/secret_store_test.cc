// secret_store: a 0600 JSON file of credentials, overridden by PHIGATE_CREDENTIAL_<NAME>; a file
// others can read is refused; errors name the file and entry, never a value.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "controlplane/ipc/secret_store.hh"

namespace phigate::ipc {
namespace {

std::string write_file(const std::string& text, mode_t mode) {
  char path[] = "/tmp/phigate-secrets-XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  chmod(path, mode);
  return path;
}

TEST(secret_store, file_and_environment) {
  const std::string p = write_file(R"({"openai": "Bearer sk-file", "triton": "Bearer t"})", 0600);
  setenv("PHIGATE_CREDENTIAL_OPENAI", "Bearer sk-env", 1);
  auto r = load_credentials(p);
  unsetenv("PHIGATE_CREDENTIAL_OPENAI");
  ASSERT_TRUE(std::holds_alternative<credential_map>(r)) << std::get<std::string>(r);
  EXPECT_EQ(std::get<credential_map>(r).at("openai"), "Bearer sk-env") << "the environment wins";
  EXPECT_EQ(std::get<credential_map>(r).at("triton"), "Bearer t");
  std::remove(p.c_str());
}

TEST(secret_store, readable_files_and_bad_values_are_refused_without_quoting_values) {
  const std::string loose = write_file(R"({"openai": "Bearer sk-secret"})", 0644);
  auto r = load_credentials(loose);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r), loose + ": readable by group or others (chmod 600 it)");
  const std::string bad = write_file(R"({"openai": 42, "x": "Bearer sk-secret"})", 0600);
  r = load_credentials(bad);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_EQ(std::get<std::string>(r).find("sk-secret"), std::string::npos);
  EXPECT_NE(std::get<std::string>(r).find("openai: must be a string"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<std::string>(load_credentials("/nonexistent/secrets.json")));
  std::remove(loose.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace phigate::ipc
