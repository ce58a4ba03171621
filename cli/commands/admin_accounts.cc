#include "cli/commands/admin_accounts.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "auth/auth_store.h"
#include "core/timestamp.h"
#include "web/sign_in_pages.h"
#include "cli/command.h"

namespace bw::cli {
namespace {

// Names separated by commas; "-" for none.
template <typename Names>
std::string joined(const Names& names) {
  std::string out;
  for (const auto& p : names) out += (out.empty() ? "" : ",") + p;
  return out.empty() ? "-" : out;
}

// "alice now holds view_pii,view_rawdump (own: view_pii; groups: triage)": what grant and revoke
// changed (the user's own permissions) and what the user may do now (with the groups').
std::string holdings(const auth::User& u) {
  std::string out = "user " + u.name + " now holds " + joined(u.permissions);
  if (!u.groups.empty()) out += " (own: " + joined(u.own_permissions) + "; groups: " + joined(u.groups) + ")";
  return out;
}

auth::PermissionSet permission_set(const std::vector<std::string>& names) {
  auth::PermissionSet set(names.begin(), names.end());
  try {
    auth::check_permissions(set);
  } catch (const auth::AuthError& e) {
    throw CommandFailed(2, e.what());
  }
  return set;
}

// The password from --password-file (its first line) or standard input (its first line).
std::string read_password(const std::string& file) {
  std::string line;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw CommandFailed(2, "cannot read --password-file " + file);
    std::getline(in, line);
  } else {
    if (isatty(STDIN_FILENO)) std::cerr << "password: " << std::flush;
    std::getline(std::cin, line);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Runs `body` with the site's account store; AuthError (bad input) exits with status 2.
template <typename F>
void with_store(SharedOptions& shared, F&& body) {
  Config config = shared.load_and_init_logging();
  auto store = auth::open_auth_store(config);
  try {
    body(*store);
  } catch (const auth::AuthError& e) {
    throw CommandFailed(2, e.what());
  }
}

void add_link_command(CLI::App& user, SharedOptions& shared);

void add_user_commands(CLI::App& admin, SharedOptions& shared) {
  auto* user = admin.add_subcommand("user", "accounts: add, list, disable, enable, grant, revoke, password, link");
  user->require_subcommand(1);
  add_link_command(*user, shared);

  struct AddFlags {
    std::string name, password_file;
    std::vector<std::string> permissions;
  };
  auto a = std::make_shared<AddFlags>();
  auto* add = user->add_subcommand("add", "create a user (password from --password-file or standard input)");
  shared.add_to(*add);
  add->add_option("name", a->name, "user name")->required();
  add->add_option("--permission", a->permissions, "a permission to grant (repeatable)");
  add->add_option("--password-file", a->password_file, "read the password from this file's first line");
  add->callback([&shared, a] {
    auto permissions = permission_set(a->permissions);
    std::string password = read_password(a->password_file);
    with_store(shared, [&](auth::AuthStore& store) {
      auto u = store.add_user(a->name, password, permissions);
      std::cout << "user " << u.name << " added with " << joined(u.permissions) << "\n";
    });
  });

  auto* list = user->add_subcommand("list", "every user with their groups and permissions (their own and their groups')");
  shared.add_to(*list);
  list->callback([&shared] {
    with_store(shared, [&](auth::AuthStore& store) {
      std::cout << std::left << std::setw(32) << "user" << std::setw(10) << "state" << std::setw(12) << "created"
                << std::setw(24) << "groups" << "permissions\n";
      for (const auto& u : store.list_users()) {
        std::cout << std::setw(32) << u.name << std::setw(10) << (u.disabled ? "disabled" : "enabled") << std::setw(12)
                  << iso_day(u.created) << std::setw(24) << joined(u.groups) << joined(u.permissions) << "\n";
      }
    });
  });

  for (bool disable : {true, false}) {
    auto name = std::make_shared<std::string>();
    auto* sub = user->add_subcommand(disable ? "disable" : "enable",
                                     disable ? "disable a user: no sign-in, every token refused at once"
                                             : "enable a disabled user again");
    shared.add_to(*sub);
    sub->add_option("name", *name, "user name")->required();
    sub->callback([&shared, name, disable] {
      with_store(shared, [&](auth::AuthStore& store) {
        store.set_disabled(*name, disable);
        std::cout << "user " << *name << (disable ? " disabled" : " enabled") << "\n";
      });
    });
  }

  for (bool grant : {true, false}) {
    struct Flags {
      std::string name;
      std::vector<std::string> permissions;
    };
    auto f = std::make_shared<Flags>();
    auto* sub = user->add_subcommand(grant ? "grant" : "revoke",
                                     grant ? "give a user permissions" : "take permissions away (their tokens too, at once)");
    shared.add_to(*sub);
    sub->add_option("name", f->name, "user name")->required();
    sub->add_option("permissions", f->permissions, "permissions")->required();
    sub->callback([&shared, f, grant] {
      auto permissions = permission_set(f->permissions);
      with_store(shared, [&](auth::AuthStore& store) {
        if (grant) {
          store.grant(f->name, permissions);
        } else {
          store.revoke(f->name, permissions);
        }
        auto u = store.find_user(f->name);
        if (!u) throw CommandFailed(1, "user " + f->name + " is gone");
        std::cout << holdings(*u) << "\n";
      });
    });
  }

  struct PasswordFlags {
    std::string name, password_file;
  };
  auto p = std::make_shared<PasswordFlags>();
  auto* password = user->add_subcommand("password", "set a user's password (from --password-file or standard input)");
  shared.add_to(*password);
  password->add_option("name", p->name, "user name")->required();
  password->add_option("--password-file", p->password_file, "read the password from this file's first line");
  password->callback([&shared, p] {
    std::string text = read_password(p->password_file);
    with_store(shared, [&](auth::AuthStore& store) {
      store.set_password(p->name, text);
      std::cout << "password of " << p->name << " changed\n";
    });
  });
}

void add_link_command(CLI::App& user, SharedOptions& shared) {
  struct LinkFlags {
    std::string name;
    int hours = 24;
  };
  auto l = std::make_shared<LinkFlags>();
  auto* link = user.add_subcommand("link", "a one-time sign-in link for a user (printed alone on the last line)");
  shared.add_to(*link);
  link->add_option("name", l->name, "user name")->required();
  link->add_option("--hours", l->hours, "how long the link works (it works once)")->check(CLI::Range(1, 720));
  link->callback([&shared, l] {
    Config config = shared.load_and_init_logging();
    auto store = auth::open_auth_store(config);
    try {
      std::string path = web::signin_link_path(*store, l->name, std::chrono::hours(l->hours));
      std::cout << "open it on the site, once, within " << l->hours << " h:\n"
                << "http://" << config.get_string("server", "listen") << path << "\n";
    } catch (const auth::AuthError& e) {
      throw CommandFailed(2, e.what());
    }
  });
}

void add_token_commands(CLI::App& admin, SharedOptions& shared) {
  auto* token = admin.add_subcommand("token", "API tokens (Auth-Token header): create, list, revoke");
  token->require_subcommand(1);

  struct CreateFlags {
    std::string user, label;
    std::vector<std::string> permissions;
    int days = auth::AuthStore::kDefaultTokenDays;
  };
  auto c = std::make_shared<CreateFlags>();
  auto* create = token->add_subcommand("create", "make a token; it is printed once, alone on the last line");
  shared.add_to(*create);
  create->add_option("--user", c->user, "the token's owner")->required();
  create->add_option("--permission", c->permissions, "a permission of the owner's it carries (repeatable; none: all)");
  create->add_option("--expires-days", c->days, "days until it expires (1-3650)")->capture_default_str();
  create->add_option("--label", c->label, "what it is for");
  create->callback([&shared, c] {
    auto permissions = permission_set(c->permissions);
    with_store(shared, [&](auth::AuthStore& store) {
      auto made = store.create_token(c->user, c->label, permissions, c->days, std::chrono::system_clock::now());
      std::cout << "token " << made.info.id << " for " << made.info.user << " with " << joined(made.info.permissions)
                << ", expires " << iso_day(made.info.expires) << " (shown only now):\n"
                << made.secret << "\n";
    });
  });

  auto user = std::make_shared<std::string>();
  auto* list = token->add_subcommand("list", "tokens (never their secrets), newest first");
  shared.add_to(*list);
  list->add_option("--user", *user, "only this user's");
  list->callback([&shared, user] {
    with_store(shared, [&](auth::AuthStore& store) {
      auto now = std::chrono::system_clock::now();
      std::cout << std::left << std::setw(6) << "id" << std::setw(24) << "user" << std::setw(11) << "token"
                << std::setw(9) << "state" << std::setw(12) << "expires" << std::setw(40) << "permissions"
                << "label\n";
      auto tokens = user->empty() ? store.list_tokens() : store.list_tokens(std::string_view(*user));
      for (const auto& t : tokens) {
        std::string state = t.revoked ? "revoked" : (now >= t.expires ? "expired" : "valid");
        std::cout << std::setw(6) << t.id << std::setw(24) << t.user << std::setw(11) << (t.shown_prefix + "…")
                  << std::setw(9) << state << std::setw(12) << iso_day(t.expires) << std::setw(40)
                  << joined(t.permissions) << t.label << "\n";
      }
    });
  });

  auto id = std::make_shared<int64_t>(0);
  auto* revoke = token->add_subcommand("revoke", "refuse a token from now on");
  shared.add_to(*revoke);
  revoke->add_option("id", *id, "the token's id (admin token list)")->required();
  revoke->callback([&shared, id] {
    with_store(shared, [&](auth::AuthStore& store) {
      if (!store.revoke_token(*id)) throw CommandFailed(1, "no valid token with id " + std::to_string(*id));
      std::cout << "token " << *id << " revoked\n";
    });
  });
}


void add_group_commands(CLI::App& admin, SharedOptions& shared) {
  auto* group = admin.add_subcommand(
      "group", "groups of permissions: add, list, delete, grant, revoke, add-member, remove-member");
  group->require_subcommand(1);

  struct AddFlags {
    std::string name;
    std::vector<std::string> permissions;
  };
  auto a = std::make_shared<AddFlags>();
  auto* add = group->add_subcommand("add", "create a group; its members hold its permissions");
  shared.add_to(*add);
  add->add_option("name", a->name, "group name")->required();
  add->add_option("--permission", a->permissions, "a permission the group gives (repeatable)");
  add->callback([&shared, a] {
    auto permissions = permission_set(a->permissions);
    with_store(shared, [&](auth::AuthStore& store) {
      auto g = store.add_group(a->name, permissions);
      std::cout << "group " << g.name << " added with " << joined(g.permissions) << "\n";
    });
  });

  auto* list = group->add_subcommand("list", "every group with its permissions and members");
  shared.add_to(*list);
  list->callback([&shared] {
    with_store(shared, [&](auth::AuthStore& store) {
      std::cout << std::left << std::setw(32) << "group" << std::setw(12) << "created" << std::setw(40) << "permissions"
                << "members\n";
      for (const auto& g : store.list_groups()) {
        std::cout << std::setw(32) << g.name << std::setw(12) << iso_day(g.created) << std::setw(40)
                  << joined(g.permissions) << joined(g.members) << "\n";
      }
    });
  });

  auto name = std::make_shared<std::string>();
  auto* drop = group->add_subcommand("delete", "delete a group: its members lose its permissions at once");
  shared.add_to(*drop);
  drop->add_option("name", *name, "group name")->required();
  drop->callback([&shared, name] {
    with_store(shared, [&](auth::AuthStore& store) {
      store.delete_group(*name);
      std::cout << "group " << *name << " deleted\n";
    });
  });

  for (bool grant : {true, false}) {
    struct Flags {
      std::string name;
      std::vector<std::string> permissions;
    };
    auto f = std::make_shared<Flags>();
    auto* sub = group->add_subcommand(
        grant ? "grant" : "revoke",
        grant ? "give a group permissions" : "take permissions from a group (its members' tokens and sessions too, at once)");
    shared.add_to(*sub);
    sub->add_option("name", f->name, "group name")->required();
    sub->add_option("permissions", f->permissions, "permissions")->required();
    sub->callback([&shared, f, grant] {
      auto permissions = permission_set(f->permissions);
      with_store(shared, [&](auth::AuthStore& store) {
        auto now = grant ? store.grant_group(f->name, permissions) : store.revoke_group(f->name, permissions);
        std::cout << "group " << f->name << " now holds " << joined(now) << "\n";
      });
    });
  }

  for (bool add_one : {true, false}) {
    struct Flags {
      std::string group, user;
    };
    auto f = std::make_shared<Flags>();
    auto* sub = group->add_subcommand(add_one ? "add-member" : "remove-member",
                                      add_one ? "put a user in a group" : "take a user out of a group (at once)");
    shared.add_to(*sub);
    sub->add_option("name", f->group, "group name")->required();
    sub->add_option("user", f->user, "user name")->required();
    sub->callback([&shared, f, add_one] {
      with_store(shared, [&](auth::AuthStore& store) {
        // Asking twice is not an error (scripts may repeat themselves): the answer says so.
        if (add_one) {
          bool added = store.add_member(f->group, f->user);
          std::cout << "user " << f->user << (added ? " added to group " : " was already in group ") << f->group << "\n";
        } else {
          bool removed = store.remove_member(f->group, f->user);
          std::cout << "user " << f->user << (removed ? " removed from group " : " was not in group ") << f->group
                    << "\n";
        }
        if (auto u = store.find_user(f->user)) std::cout << holdings(*u) << "\n";
      });
    });
  }
}

}  // namespace

void add_admin_account_commands(CLI::App& admin, SharedOptions& shared) {
  add_user_commands(admin, shared);
  add_group_commands(admin, shared);
  add_token_commands(admin, shared);
}

}  // namespace bw::cli
