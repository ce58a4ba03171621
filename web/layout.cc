#include "web/layout.h"

#include "web/static_assets.h"

namespace bw::web {

namespace {

struct NavLink {
  NavItem item;
  const char* path;
  const char* label;
};

// Targets not built yet answer with the site's not-found page (docs/web.md).
constexpr NavLink kNav[] = {
    {NavItem::kHome, "/", "Home"},
    {NavItem::kSearch, "/search/", "Search"},
    {NavItem::kTopCrashers, "/topcrashers/", "Top crashers"},
    {NavItem::kSymbols, "/symbols/missing/", "Symbols"},
    {NavItem::kStatus, "/status/", "Status"},
    {NavItem::kApi, "/api/", "API"},
    {NavItem::kAccount, "/profile/", "Account"},  // the sign-in form when signed out
};

}  // namespace

html::Html render_page(const PageSpec& spec, const html::Html& main) {
  html::Writer w;
  w.append(html::Html::trusted("<!DOCTYPE html>\n"));
  w.open("html", {{"lang", "en"}});
  w.open("head");
  w.empty("meta", {{"charset", "utf-8"}});
  w.empty("meta", {{"name", "viewport"}, {"content", "width=device-width, initial-scale=1"}});
  w.element("title", spec.title.empty() ? "Breakwater" : spec.title + " \xE2\x80\x94 Breakwater");
  w.empty_with_url("link", "href", html::Url::local(std::string(static_asset("style.css").path)), {{"rel", "stylesheet"}});
  for (const auto& name : spec.scripts) {
    w.open_with_url("script", "src", html::Url::local(std::string(static_asset(name).path)), {{"defer", "defer"}});
    w.close("script");
  }
  w.close("head");
  w.open("body");
  w.link(html::Url::fragment("main"), "Skip to main content", {{"class", "skip-link"}});
  w.open("header", {{"class", "site-header"}});
  w.open("div", {{"class", "wrap header-inner"}});
  w.link(html::Url::local("/"), "Breakwater", {{"class", "brand"}});
  w.open("nav", {{"aria-label", "Site"}});
  w.open("ul");
  for (const auto& link : kNav) {
    w.open("li");
    html::Attributes attrs;
    if (link.item == spec.active) attrs.emplace_back("aria-current", "page");
    w.link(html::Url::local(link.path), link.label, attrs);
    w.close("li");
  }
  w.close("ul");
  w.close("nav");
  w.close("div");
  w.close("header");
  w.open("main", {{"id", "main"}, {"class", "wrap"}, {"tabindex", "-1"}});
  w.append(main);
  w.close("main");
  w.open("footer", {{"class", "site-footer"}});
  w.open("div", {{"class", "wrap"}});
  w.element("p", "Breakwater crash reports");
  w.close("div");
  w.close("footer");
  w.close("body");
  w.close("html");
  return w.finish();
}

std::vector<std::pair<std::string, std::string>> html_security_headers() {
  return {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "same-origin"},
      {"X-Frame-Options", "DENY"},
  };
}

http::Response html_response(int status, const html::Html& document) {
  http::Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = document.str();
  r.headers = html_security_headers();
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

http::Response error_page(int status, std::string_view title, const std::vector<std::string>& explanation) {
  html::Writer w;
  w.open("div", {{"class", "error-page"}});
  w.element("p", std::to_string(status), {{"class", "error-code"}});
  w.element("h1", title);
  for (const auto& line : explanation) w.element("p", line);
  w.close("div");
  return html_response(status, render_page({std::string(title), NavItem::kNone, {}}, w.finish()));
}

http::Response moved_page(std::string_view what, const std::string& location, NavItem nav) {
  html::Writer w;
  w.element("h1", "Moved");
  w.open("p");
  w.text(std::string(what) + " is at ");
  w.link(html::Url::local(location), location);
  w.text(".");
  w.close("p");
  http::Response r = html_response(301, render_page({"Moved", nav, {}}, w.finish()));
  r.headers.emplace_back("Location", location);
  return r;
}

}  // namespace bw::web
