// The page layout every web page shares, and the HTTP answers that carry pages.
//
// A page is `render_page(PageSpec, main)`: doctype, <head> with the one stylesheet (embedded,
// content-hashed URL), a skip link, a header with the site navigation (Home, Search, Top crashers,
// Symbols, Status, API, Account), <main id="main"> holding `main`, and a footer. Pages are readable from
// phone to desktop widths and usable by keyboard (visible focus, skip link, landmarks).
//
// Every HTML answer carries a Content-Security-Policy that allows scripts, styles and fetches
// from this site only and no inline script or style at all: even if escaping failed somewhere, an
// injected <script> or on* attribute would not run.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/server.h"
#include "web/html.h"

namespace bw::web {

enum class NavItem { kNone, kHome, kSearch, kTopCrashers, kSymbols, kStatus, kApi, kAccount };

struct PageSpec {
  std::string title;                      // <title> and nothing else (pages write their own <h1>)
  NavItem active = NavItem::kNone;        // marked aria-current in the navigation
  std::vector<std::string> scripts;       // names of web/static files loaded with <script defer>
};

// The whole document.
html::Html render_page(const PageSpec& spec, const html::Html& main);

// Security headers every HTML answer carries (CSP, nosniff, referrer policy, no framing).
std::vector<std::pair<std::string, std::string>> html_security_headers();

// 200-or-other text/html answer with the security headers and `Cache-Control: no-cache` (crash
// pages change when a crash is processed).
http::Response html_response(int status, const html::Html& document);

// A plain error page: <h1>title</h1> and one paragraph per line of `explanation`.
http::Response error_page(int status, std::string_view title, const std::vector<std::string>& explanation);

// A 301 to `location` (a local path), with a page "Moved: <what> is at <location>." for clients
// that do not follow it.
http::Response moved_page(std::string_view what, const std::string& location, NavItem nav);

}  // namespace bw::web
