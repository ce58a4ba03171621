#include "core/libcurl.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace bw {

namespace {

constexpr const char* kLibrary = "libcurl.so.4";  // the SONAME libcurl4-openssl-dev links against

template <typename F>
void resolve(void* handle, const char* name, F& out) {
  void* p = ::dlsym(handle, name);
  if (!p) throw std::runtime_error(std::string(kLibrary) + " has no " + name);
  out = reinterpret_cast<F>(p);
}

LibCurl load() {
  void* handle = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string("cannot load ") + kLibrary + ": " + (why ? why : "unknown error"));
  }
  LibCurl api{};
  resolve(handle, "curl_easy_init", api.easy_init);
  resolve(handle, "curl_easy_setopt", api.easy_setopt);
  resolve(handle, "curl_easy_perform", api.easy_perform);
  resolve(handle, "curl_easy_getinfo", api.easy_getinfo);
  resolve(handle, "curl_easy_cleanup", api.easy_cleanup);
  resolve(handle, "curl_easy_strerror", api.easy_strerror);
  resolve(handle, "curl_slist_append", api.slist_append);
  resolve(handle, "curl_slist_free_all", api.slist_free_all);
  decltype(&::curl_global_init) global_init = nullptr;
  resolve(handle, "curl_global_init", global_init);
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw std::runtime_error("curl_global_init failed");
  return api;
}

}  // namespace

const LibCurl& libcurl() {
  // A throwing initialiser leaves the static uninitialised, so the next call tries again and
  // throws the same error.
  static const LibCurl api = load();
  return api;
}

}  // namespace bw
