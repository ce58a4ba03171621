#include "core/libcurl.h"

#include <dlfcn.h>
#include <link.h>

#include <string>

#include <gtest/gtest.h>

namespace bw {
namespace {

bool curl_is_mapped() {
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        if (std::string(info->dlpi_name).find("libcurl.so") != std::string::npos) *static_cast<bool*>(data) = true;
        return 0;
      },
      &found);
  return found;
}

// The point of core/libcurl.h: nothing is paid for libcurl until something asks for it.
// (Runs first in this binary; gtest keeps declaration order within a file.)
TEST(LibCurlTest, NotLoadedUntilFirstUseThenEveryEntryIsSet) {
  EXPECT_FALSE(curl_is_mapped()) << "libcurl is linked into the process again";
  const LibCurl& api = libcurl();
  EXPECT_TRUE(curl_is_mapped());
  EXPECT_NE(api.easy_init, nullptr);
  EXPECT_NE(api.easy_setopt, nullptr);
  EXPECT_NE(api.easy_perform, nullptr);
  EXPECT_NE(api.easy_getinfo, nullptr);
  EXPECT_NE(api.easy_cleanup, nullptr);
  EXPECT_NE(api.easy_strerror, nullptr);
  EXPECT_NE(api.slist_append, nullptr);
  EXPECT_NE(api.slist_free_all, nullptr);
  EXPECT_EQ(&libcurl(), &api);
}

TEST(LibCurlTest, CallsGoToTheLoadedLibrary) {
  const LibCurl& api = libcurl();
  EXPECT_STREQ(api.easy_strerror(CURLE_OK), "No error");
  CURL* h = api.easy_init();
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(api.easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
  api.easy_cleanup(h);
  curl_slist* list = api.slist_append(nullptr, "X-Test: 1");
  ASSERT_NE(list, nullptr);
  EXPECT_STREQ(list->data, "X-Test: 1");
  api.slist_free_all(list);
}

}  // namespace
}  // namespace bw
