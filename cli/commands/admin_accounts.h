// `breakwater admin user ...`, `admin group ...` and `admin token ...` (auth/auth_store.h,
// docs/security.md): added to `admin` by register_admin_command.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/shared_options.h"

namespace bw::cli {

void add_admin_account_commands(CLI::App& admin, SharedOptions& shared);

}  // namespace bw::cli
