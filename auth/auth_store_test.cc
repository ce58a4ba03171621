// The account store (auth_store.h) on a real SQLite file: users, passwords, tokens and what each
// promise means for a caller; nothing secret is ever stored or returned.
#include "auth/auth_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "auth/secrets.h"
#include "auth/sqlite_auth_store.h"
#include "core/fs_util.h"
#include "core/temp_dir.h"

namespace bw::auth {
namespace {

using namespace std::chrono_literals;
using Result = TokenCheck::Result;

class AuthStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_sqlite_auth_store(path()); }
  std::filesystem::path path() const { return dir_.path() / "index" / "crashes.sqlite"; }

  test_support::TempDir dir_;
  std::unique_ptr<AuthStore> store_;
  std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(AuthStoreTest, UsersAreAddedListedAndCheckedByPassword) {
  auto alice = store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  EXPECT_EQ(alice.permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  store_->add_user("bob@example.com", "battery staple", {});
  auto users = store_->list_users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[1].name, "bob@example.com");

  EXPECT_TRUE(store_->check_password("alice", "correct horse"));
  EXPECT_FALSE(store_->check_password("alice", "correct horsE"));
  EXPECT_FALSE(store_->check_password("nobody", "correct horse"));
  store_->set_disabled("alice", true);
  EXPECT_FALSE(store_->check_password("alice", "correct horse")) << "a disabled user cannot sign in";
  store_->set_disabled("alice", false);
  store_->set_password("alice", "a new password");
  EXPECT_FALSE(store_->check_password("alice", "correct horse"));
  EXPECT_TRUE(store_->check_password("alice", "a new password"));
}

TEST_F(AuthStoreTest, BadNamesPasswordsAndPermissionsAreRefusedBeforeAnyWrite) {
  EXPECT_THROW(store_->add_user("", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("a b", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user(std::string(65, 'a'), "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("x'; DROP TABLE auth_users; --", "long enough", {}), AuthError);
  EXPECT_THROW(store_->add_user("carol", "short", {}), AuthError);
  EXPECT_THROW(store_->add_user("carol", std::string(1025, 'p'), {}), AuthError);
  try {
    store_->add_user("carol", "long enough", {"crashstats.view_pii"});
    FAIL() << "an unknown permission was accepted";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("crashstats.view_pii"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_->list_users().empty());
  store_->add_user("carol", "long enough", {});
  EXPECT_THROW(store_->add_user("carol", "long enough", {}), AuthError);
  EXPECT_THROW(store_->grant("nobody", {"admin"}), AuthError);
  EXPECT_THROW(store_->set_disabled("nobody", true), AuthError);
}

TEST_F(AuthStoreTest, ATokenCarriesASubsetOfItsOwnersPermissionsAndIsShownOnce) {
  store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  auto made = store_->create_token("alice", "nightly script", {"view_pii"}, 90, now_);
  EXPECT_TRUE(is_well_formed_token(made.secret)) << made.secret;
  EXPECT_EQ(made.info.shown_prefix, made.secret.substr(0, 8));
  EXPECT_EQ(made.info.expires - made.info.created, std::chrono::hours(24 * 90));

  auto check = store_->check_token(made.secret, now_);
  EXPECT_EQ(check.result, Result::kValid);
  EXPECT_EQ(check.user, "alice");
  EXPECT_EQ(check.permissions, PermissionSet{"view_pii"});

  // Empty means all of the owner's; more than the owner holds is refused, naming it.
  auto all = store_->create_token("alice", "", {}, 1, now_);
  EXPECT_EQ(store_->check_token(all.secret, now_).permissions, (PermissionSet{"view_pii", "view_rawdump"}));
  try {
    store_->create_token("alice", "too much", {"admin"}, 90, now_);
    FAIL() << "a token got a permission its owner does not hold";
  } catch (const AuthError& e) {
    EXPECT_NE(std::string(e.what()).find("admin"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store_->create_token("alice", "x", {}, 0, now_), AuthError);
  EXPECT_THROW(store_->create_token("alice", "x", {}, 3651, now_), AuthError);
  EXPECT_THROW(store_->create_token("alice", "bad\nlabel", {}, 1, now_), AuthError);
  EXPECT_THROW(store_->create_token("nobody", "x", {}, 1, now_), AuthError);

  auto listed = store_->list_tokens("alice");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, all.info.id) << "newest first";
  EXPECT_EQ(listed[1].label, "nightly script");
}

TEST_F(AuthStoreTest, ExpiryRevocationDisablingAndLostPermissionsTakeEffectAtOnce) {
  store_->add_user("alice", "correct horse", {"view_pii", "view_rawdump"});
  auto t = store_->create_token("alice", "", {}, 90, now_);
  EXPECT_EQ(store_->check_token(t.secret, now_ + std::chrono::hours(24 * 90) - 1s).result, Result::kValid);
  EXPECT_EQ(store_->check_token(t.secret, now_ + std::chrono::hours(24 * 90)).result, Result::kExpired);

  store_->revoke("alice", {"view_rawdump"});
  EXPECT_EQ(store_->check_token(t.secret, now_).permissions, PermissionSet{"view_pii"});
  store_->grant("alice", {"view_rawdump"});
  EXPECT_EQ(store_->check_token(t.secret, now_).permissions, (PermissionSet{"view_pii", "view_rawdump"}));

  store_->set_disabled("alice", true);
  auto disabled = store_->check_token(t.secret, now_);
  EXPECT_EQ(disabled.result, Result::kUserDisabled);
  EXPECT_TRUE(disabled.permissions.empty());
  EXPECT_THROW(store_->create_token("alice", "", {}, 1, now_), AuthError);
  store_->set_disabled("alice", false);

  EXPECT_TRUE(store_->revoke_token(t.info.id));
  EXPECT_FALSE(store_->revoke_token(t.info.id)) << "revoking twice changes nothing";
  EXPECT_EQ(store_->check_token(t.secret, now_).result, Result::kRevoked);
  EXPECT_TRUE(store_->list_tokens("alice")[0].revoked);
  TokenCheck revoked;
  revoked.result = Result::kRevoked;
  EXPECT_NE(revoked.reason().find("revoked"), std::string::npos);
}

TEST_F(AuthStoreTest, MalformedAndUnknownTokensAreToldApart) {
  for (std::string bad : {std::string(), std::string("bwt_"), std::string("bwt_") + std::string(63, 'a'),
                          std::string("bwt_") + std::string(65, 'a'), std::string("bwt_") + std::string(64, 'A'),
                          std::string("bwt_") + std::string(63, 'a') + "'", std::string("xyz_") + std::string(64, 'a'),
                          std::string(10 << 20, 'a'), std::string("bwt_") + std::string(63, 'a') + '\0'}) {
    EXPECT_EQ(store_->check_token(bad, now_).result, Result::kMalformed) << bad.substr(0, 80);
  }
  EXPECT_EQ(store_->check_token(new_token(), now_).result, Result::kUnknown);
}

TEST_F(AuthStoreTest, NeitherPasswordsNorTokensAreStored) {
  store_->add_user("alice", "zq-password-marker", {"view_pii"});
  auto t = store_->create_token("alice", "", {}, 90, now_);
  auto session = store_->create_session("alice", std::chrono::minutes(60), now_);
  auto link = store_->create_signin_link("alice", std::chrono::minutes(60), now_);
  store_.reset();  // closed: the WAL is folded into the file
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(path().parent_path())) {
    bytes += fs::read_file(entry.path());
  }
  EXPECT_EQ(bytes.find("zq-password-marker"), std::string::npos);
  EXPECT_EQ(bytes.find(t.secret.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(session.secret.substr(4)), std::string::npos);
  EXPECT_EQ(bytes.find(link.substr(4)), std::string::npos);
  EXPECT_NE(bytes.find("$argon2id$"), std::string::npos) << "the password is an Argon2id hash";
}

TEST_F(AuthStoreTest, TwoStoresOnOneFileSeeEachOthersChanges) {
  auto other = open_sqlite_auth_store(path());
  store_->add_user("alice", "correct horse", {"view_pii"});
  auto t = store_->create_token("alice", "", {}, 90, now_);
  EXPECT_EQ(other->check_token(t.secret, now_).result, Result::kValid);
  other->revoke_token(t.info.id);
  EXPECT_EQ(store_->check_token(t.secret, now_).result, Result::kRevoked);
}

TEST_F(AuthStoreTest, SessionsCarryTheOwnersPermissionsNowAndEndOnSignOutDisablingOrANewPassword) {
  store_->add_user("alice", "correct horse", {"view_pii"});
  auto s = store_->create_session("alice", 60min, now_);
  EXPECT_TRUE(is_well_formed_secret(s.secret, kSessionPrefix));
  EXPECT_EQ(s.csrf.size(), 64u);
  auto checked = store_->check_session(s.secret, now_ + 59min);
  ASSERT_TRUE(checked);
  EXPECT_EQ(checked->user, "alice");
  EXPECT_EQ(checked->csrf, s.csrf);
  EXPECT_EQ(checked->permissions, PermissionSet{"view_pii"});
  EXPECT_FALSE(store_->check_session(s.secret, now_ + 60min)) << "expired";

  store_->grant("alice", {"admin"});
  EXPECT_EQ(store_->check_session(s.secret, now_)->permissions, (PermissionSet{"admin", "view_pii"}));
  store_->set_disabled("alice", true);
  EXPECT_FALSE(store_->check_session(s.secret, now_)) << "a disabled user's session is refused at once";
  EXPECT_THROW(store_->create_session("alice", 60min, now_), AuthError);
  store_->set_disabled("alice", false);
  EXPECT_TRUE(store_->check_session(s.secret, now_));

  EXPECT_TRUE(store_->end_session(s.secret));
  EXPECT_FALSE(store_->end_session(s.secret)) << "signing out twice is harmless";
  EXPECT_FALSE(store_->check_session(s.secret, now_));

  auto a = store_->create_session("alice", 60min, now_);
  auto b = store_->create_session("alice", 60min, now_);
  EXPECT_NE(a.secret, b.secret);
  EXPECT_NE(a.csrf, b.csrf);
  store_->set_password("alice", "a new password");
  EXPECT_FALSE(store_->check_session(a.secret, now_)) << "a new password signs out everywhere";
  EXPECT_FALSE(store_->check_session(b.secret, now_));
  EXPECT_THROW(store_->create_session("nobody", 60min, now_), AuthError);
  EXPECT_THROW(store_->create_session("alice", 0min, now_), AuthError);
  for (std::string bad : {std::string(), std::string("bws_"), new_token(), std::string("bws_") + std::string(64, 'A'),
                          std::string(1 << 20, 'b')}) {
    EXPECT_FALSE(store_->check_session(bad, now_)) << bad.substr(0, 80);
  }
  EXPECT_FALSE(store_->check_session(new_secret(kSessionPrefix), now_)) << "unknown";
}

TEST_F(AuthStoreTest, ASignInLinkWorksOnceBeforeItExpires) {
  store_->add_user("admin", "correct horse", {"admin"});
  auto link = store_->create_signin_link("admin", 60min, now_);
  EXPECT_TRUE(is_well_formed_secret(link, kSignInLinkPrefix));
  EXPECT_EQ(store_->redeem_signin_link(link, now_ + 1min), std::optional<std::string>("admin"));
  EXPECT_FALSE(store_->redeem_signin_link(link, now_ + 1min)) << "one use";

  auto late = store_->create_signin_link("admin", 60min, now_);
  EXPECT_FALSE(store_->redeem_signin_link(late, now_ + 60min)) << "expired";
  auto disabled = store_->create_signin_link("admin", 60min, now_);
  store_->set_disabled("admin", true);
  EXPECT_FALSE(store_->redeem_signin_link(disabled, now_));
  EXPECT_FALSE(store_->redeem_signin_link(new_token(), now_)) << "a token is not a link";
  EXPECT_THROW(store_->create_signin_link("nobody", 60min, now_), AuthError);
}

TEST(Secrets, TokensAreRandomAndHashesStable) {
  auto a = new_token(), b = new_token();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), kTokenLength);
  EXPECT_EQ(token_hash(a), token_hash(a));
  EXPECT_NE(token_hash(a), token_hash(b));
  EXPECT_EQ(token_hash(a).size(), 64u);
  EXPECT_FALSE(verify_password("not a hash", "anything"));
  EXPECT_FALSE(verify_password(std::string(1000, '$'), "anything"));
}

}  // namespace
}  // namespace bw::auth
