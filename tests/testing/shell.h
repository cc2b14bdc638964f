// tests/testing/shell.h — running the tigerfg binary (and mpirun, python) from end-to-end tests.
#pragma once

#include <string>

namespace tigerfg::testing {

struct ShellResult {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh, capturing its combined output.
ShellResult Shell(const std::string& command);

// A fresh, empty folder under the temp directory, unique to this process and `name`.
std::string TempDir(const std::string& name);

}  // namespace tigerfg::testing
