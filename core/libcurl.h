// libcurl, loaded the first time it is needed (dlopen of libcurl.so.4) instead of linked.
//
// Why: libcurl brings ~27 shared libraries (GnuTLS, Kerberos, LDAP, libssh2, ...) whose loading
// and relocation cost about 4 ms at the start of every breakwater process, while only `submit`
// and HTTP symbol downloads use it. Callers include <curl/curl.h> for types and constants and
// call the functions through this table.
//
// Promises: libcurl() returns the same table on every call, with every entry set, after
// curl_global_init(CURL_GLOBAL_DEFAULT) has run once. If the library cannot be loaded or lacks a
// function it throws std::runtime_error naming the library and the reason (every later call
// throws the same). The library stays loaded until the process exits.
// Thread safety: libcurl() may be called from any thread; the first call does the loading.
#pragma once

#include <curl/curl.h>

namespace bw {

struct LibCurl {
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
};

const LibCurl& libcurl();

}  // namespace bw
