// Frame normalization on real symbol names: from the corpus (rust-minidump and Breakpad outputs
// in ../shared/testdata/expected) and from typical GCC, Clang, MSVC and rustc symbol files.
#include "signature/frame_normalizer.h"

#include <gtest/gtest.h>

namespace bw::signature {
namespace {

TEST(NormalizeCpp, DropsArgumentListsAndQualifiers) {
  // firefox-windows-x86_64.machine.txt frames 5 and 15 (mozglue.dll, PDB symbols).
  EXPECT_EQ(normalize_cpp_function("moz_xmalloc(unsigned long long)"), "moz_xmalloc");
  EXPECT_EQ(normalize_cpp_function("static mozilla::TimeStamp::Now(bool)"), "mozilla::TimeStamp::Now");
  EXPECT_EQ(normalize_cpp_function("nsThread::ProcessNextEvent(bool, bool*)"), "nsThread::ProcessNextEvent");
  EXPECT_EQ(normalize_cpp_function("mozilla::dom::Element::GetAttr(int, nsAtom*, nsTSubstring<char16_t>&) const"),
            "mozilla::dom::Element::GetAttr");
  EXPECT_EQ(normalize_cpp_function("nsTArray_Impl<int, nsTArrayInfallibleAllocator>::Length() const &"),
            "nsTArray_Impl<T>::Length");
  EXPECT_EQ(normalize_cpp_function("Foo::Bar(void) const volatile noexcept"), "Foo::Bar");
  EXPECT_EQ(normalize_cpp_function("Foo::Swap(Foo&&) && noexcept(true)"), "Foo::Swap");
  EXPECT_EQ(normalize_cpp_function("main"), "main");
  EXPECT_EQ(normalize_cpp_function("__tmainCRTStartup"), "__tmainCRTStartup");
}

TEST(NormalizeCpp, DropsReturnTypesAndCallingConventions) {
  EXPECT_EQ(normalize_cpp_function("void __cdecl mozilla::detail::MutexImpl::lock(void)"),
            "mozilla::detail::MutexImpl::lock");
  EXPECT_EQ(normalize_cpp_function("public: virtual long __stdcall CDocument::QueryInterface(struct _GUID const &,void * *)"),
            "CDocument::QueryInterface");
  EXPECT_EQ(normalize_cpp_function("char const* js::gc::TenuredCell::zone() const"), "js::gc::TenuredCell::zone");
  EXPECT_EQ(normalize_cpp_function("std::vector<int, std::allocator<int> > makeList(int)"), "makeList");
  EXPECT_EQ(normalize_cpp_function("non-virtual thunk to nsDocShell::Release()"), "nsDocShell::Release");
  EXPECT_EQ(normalize_cpp_function("[thunk]:CWebBrowser::Release`adjustor{8}' ()"), "CWebBrowser::Release`adjustor{8}'");
}

TEST(NormalizeCpp, CollapsesTemplates) {
  EXPECT_EQ(normalize_cpp_function("std::_Func_impl_no_alloc<<lambda_1>,void>::_Do_call()"),
            "std::_Func_impl_no_alloc<T>::_Do_call");
  EXPECT_EQ(normalize_cpp_function(
                "std::basic_string<char,std::char_traits<char>,std::allocator<char> >::~basic_string<char,std::char_traits<char>,std::allocator<char> >()"),
            "std::basic_string<T>::~basic_string<T>");
  EXPECT_EQ(normalize_cpp_function("mozilla::Maybe<mozilla::Span<unsigned char const, 18446744073709551615ul> >::emplace<>()"),
            "mozilla::Maybe<T>::emplace<T>");
  EXPECT_EQ(normalize_cpp_function("void std::__1::__tree<int, std::less<int>, std::allocator<int> >::destroy(std::__1::__tree_node<int, void*>*)"),
            "std::__1::__tree<T>::destroy");
  // Arrow inside template arguments does not close them.
  EXPECT_EQ(normalize_cpp_function("Holder<decltype(p->get())>::Run()"), "Holder<T>::Run");
}

TEST(NormalizeCpp, KeepsOperators) {
  EXPECT_EQ(normalize_cpp_function("mozilla::detail::RunnableFunction<$_0>::Run()::{lambda()#1}::operator()() const"),
            "mozilla::detail::RunnableFunction<T>::Run::{lambda()#1}::operator()");
  EXPECT_EQ(normalize_cpp_function("bool operator<(nsTString<char> const&, nsTString<char> const&)"), "operator<");
  EXPECT_EQ(normalize_cpp_function("mozilla::operator<=(mozilla::TimeStamp, mozilla::TimeStamp)"), "mozilla::operator<=");
  EXPECT_EQ(normalize_cpp_function("std::basic_ostream<char, std::char_traits<char> >& std::operator<< <std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char const*)"),
            "std::operator<< <T>");
  EXPECT_EQ(normalize_cpp_function("operator new(unsigned long)"), "operator new");
  EXPECT_EQ(normalize_cpp_function("operator delete[](void*)"), "operator delete[]");
  EXPECT_EQ(normalize_cpp_function("void * __cdecl operator new(unsigned __int64)"), "operator new");
  EXPECT_EQ(normalize_cpp_function("nsCOMPtr<nsIURI>::operator->() const"), "nsCOMPtr<T>::operator->");
  EXPECT_EQ(normalize_cpp_function("mozilla::Span<char>::operator[](unsigned long)"), "mozilla::Span<T>::operator[]");
  EXPECT_EQ(normalize_cpp_function("RefPtr<nsAtom>::operator=(RefPtr<nsAtom>&&)"), "RefPtr<T>::operator=");
  EXPECT_EQ(normalize_cpp_function("std::function<void (int)>::operator ()(int) const"), "std::function<T>::operator()");
  EXPECT_EQ(normalize_cpp_function("mozilla::Result<int, nsresult>::operator bool() const"),
            "mozilla::Result<T>::operator bool");
  EXPECT_EQ(normalize_cpp_function("nsTSubstring<char>::operator char const*() const"),
            "nsTSubstring<T>::operator char const*");
  EXPECT_EQ(normalize_cpp_function("operator\"\"_ms(unsigned long long)"), "operator\"\"_ms");
  EXPECT_EQ(normalize_cpp_function("Vec3::operator+=(Vec3 const&)"), "Vec3::operator+=");
}

TEST(NormalizeCpp, AnonymousNamespaces) {
  // test.json / test.evil.json frame 0 (MSVC spelling).
  EXPECT_EQ(normalize_cpp_function("`anonymous namespace'::CrashFunction"), "(anonymous namespace)::CrashFunction");
  EXPECT_EQ(normalize_cpp_function("(anonymous namespace)::ParseArgs(int, char**)"), "(anonymous namespace)::ParseArgs");
  EXPECT_EQ(normalize_cpp_function("mozilla::(anonymous namespace)::Worker<int>::Run() const"),
            "mozilla::(anonymous namespace)::Worker<T>::Run");
}

TEST(NormalizeCpp, CompilerSuffixesAndLocalEntities) {
  EXPECT_EQ(normalize_cpp_function("_int_free.part.0"), "_int_free");
  EXPECT_EQ(normalize_cpp_function("mozilla::net::nsHttpChannel::OnStopRequest(nsIRequest*, nsresult) [clone .cold]"),
            "mozilla::net::nsHttpChannel::OnStopRequest");
  EXPECT_EQ(normalize_cpp_function("js::RunScript(JSContext*, js::RunState&).llvm.8230184613245921"), "js::RunScript");
  EXPECT_EQ(normalize_cpp_function("std::__cxx11::basic_string<char>::_M_create[abi:cxx11](unsigned long&, unsigned long)"),
            "std::__cxx11::basic_string<T>::_M_create");
  EXPECT_EQ(normalize_cpp_function("Compositor::Run()::$_3::operator()(int) const"), "Compositor::Run::$_3::operator()");
  EXPECT_EQ(normalize_cpp_function("`anonymous namespace'::<lambda_7c2a91f3b1d2>::operator()(void)"),
            "(anonymous namespace)::<lambda>::operator()");
}

TEST(NormalizeCpp, ObjectiveCKeptWhole) {
  // firefox-macos-x86_64.machine.txt frame 23.
  EXPECT_EQ(normalize_cpp_function("-[NSApplication(NSEvent) _nextEventMatchingEventMask:untilDate:inMode:dequeue:]"),
            "-[NSApplication(NSEvent) _nextEventMatchingEventMask:untilDate:inMode:dequeue:]");
  EXPECT_EQ(normalize_cpp_function("__CFRUNLOOP_IS_CALLING_OUT_TO_A_SOURCE0_PERFORM_FUNCTION__"),
            "__CFRUNLOOP_IS_CALLING_OUT_TO_A_SOURCE0_PERFORM_FUNCTION__");
}

TEST(NormalizeRust, DropsHashesAndGenerics) {
  // pipeline-inlines-macos-segv.json frames and inlines.
  EXPECT_EQ(normalize_rust_function("core::ptr::write_volatile::<u8>"), "core::ptr::write_volatile");
  EXPECT_EQ(normalize_rust_function("std::sys_common::backtrace::__rust_begin_short_backtrace::<fn(), ()>"),
            "std::sys_common::backtrace::__rust_begin_short_backtrace");
  EXPECT_EQ(normalize_rust_function("<fn() as core::ops::function::FnOnce<()>>::call_once"),
            "<fn() as core::ops::function::FnOnce<T>>::call_once");
  EXPECT_EQ(normalize_rust_function("std::rt::lang_start::<()>::{closure#0}"), "std::rt::lang_start::{closure#0}");
  EXPECT_EQ(normalize_rust_function("core::ops::function::impls::<impl core::ops::function::FnOnce<A> for &F>::call_once"),
            "core::ops::function::impls::<impl core::ops::function::FnOnce<T> for &F>::call_once");
  EXPECT_EQ(normalize_rust_function("crash_client::real_main::{closure#1}"), "crash_client::real_main::{closure#1}");
  EXPECT_EQ(normalize_rust_function("std::rt::lang_start_internal::{{closure}}"), "std::rt::lang_start_internal::{{closure}}");
  // Legacy mangling hashes, as dump_syms writes them for Firefox's Rust code.
  EXPECT_EQ(normalize_rust_function("core::result::unwrap_failed::h2b14a35b2c0f6e8e"), "core::result::unwrap_failed");
  EXPECT_EQ(normalize_rust_function("<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop::h0123456789abcdef"),
            "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop");
  EXPECT_EQ(normalize_rust_function("hashbrown::raw::RawTable<T,A>::reserve_rehash"), "hashbrown::raw::RawTable<T>::reserve_rehash");
  EXPECT_EQ(normalize_rust_function("<<style::values::Foo as core::clone::Clone>::clone as core::ops::FnOnce<()>>::call_once"),
            "<<style::values::Foo as core::clone::Clone>::clone as core::ops::FnOnce<T>>::call_once");
  EXPECT_EQ(normalize_rust_function("<fn() -> u32 as core::ops::function::FnOnce<()>>::call_once"),
            "<fn() -> u32 as core::ops::function::FnOnce<T>>::call_once");
  // Only a 16-hex-digit hash is a hash.
  EXPECT_EQ(normalize_rust_function("mycrate::h1234"), "mycrate::h1234");
}

TEST(NormalizeRust, Detection) {
  EXPECT_TRUE(is_rust_function("sadness_generator::raise_segfault",
                               "/Users/x/.cargo/git/checkouts/crash-handling/sadness-generator/src/lib.rs"));
  EXPECT_TRUE(is_rust_function("std::panicking::begin_panic::h1a2b3c4d5e6f7a8b", ""));
  EXPECT_TRUE(is_rust_function("<fn() as core::ops::function::FnOnce<()>>::call_once", ""));
  EXPECT_TRUE(is_rust_function("foo::bar::{closure#0}", ""));
  EXPECT_FALSE(is_rust_function("mozilla::dom::Element::GetAttr(int) const", "dom/base/Element.cpp"));
  EXPECT_FALSE(is_rust_function("main", "c:\\test_app.cc"));
}

TEST(SourceFileName, PlainAndVcsPaths) {
  EXPECT_EQ(source_file_name("c:\\test_app.cc"), "test_app.cc");
  EXPECT_EQ(source_file_name("/rustc/fdca237d5194bf8a1c9b437ebd2114d1c2ba6195/library/std/src/rt.rs"), "rt.rs");
  // firefox-linux-x86_64.machine.txt frame 17.
  EXPECT_EQ(source_file_name("hg:hg.mozilla.org/mozilla-central:browser/app/nsBrowserApp.cpp:855ec176a3c2239fe2f166431c96ee7710204b30"),
            "nsBrowserApp.cpp");
  EXPECT_EQ(source_file_name("git:github.com/rust-lang/rust:library/core/src/option.rs:90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf"),
            "option.rs");
  EXPECT_EQ(source_file_name(""), "");
}

TEST(NormalizeFrame, FallsBackToFileLineModuleAndAddress) {
  Frame symbolized;
  symbolized.function = "main";
  symbolized.module = "test_app.exe";
  symbolized.file = "c:\\test_app.cc";
  symbolized.line = 65;
  EXPECT_EQ(normalize_frame(symbolized).text, "main");
  EXPECT_EQ(normalize_frame(symbolized).kind, FrameKind::kFunction);

  Frame file_only;
  file_only.module = "libxul.so";
  file_only.file = "/builds/worker/checkouts/gecko/dom/base/Element.cpp";
  file_only.line = 120;
  EXPECT_EQ(normalize_frame(file_only).text, "Element.cpp#120");

  // test.json frame 3: kernel32.dll without symbols.
  Frame module_only;
  module_only.module = "kernel32.dll";
  module_only.module_offset = 0x00016fd6;
  module_only.offset = 0x7c816fd6;
  auto m = normalize_frame(module_only);
  EXPECT_EQ(m.text, "kernel32.dll@0x16fd6");
  EXPECT_EQ(m.kind, FrameKind::kModule);
  EXPECT_EQ(m.module, "kernel32.dll");

  // firefox-windows-x86_64.machine.txt frame 16: not in any module.
  Frame address_only;
  address_only.offset = 0x1ddb5ab4800;
  EXPECT_EQ(normalize_frame(address_only).text, "@0x1ddb5ab4800");
  EXPECT_EQ(normalize_frame(address_only).kind, FrameKind::kAddress);

  EXPECT_EQ(normalize_frame(Frame{}).text, "??");

  // A name that normalizes to nothing falls back to what else is known.
  Frame empty_name;
  empty_name.function = "(int)";
  empty_name.module = "libc.so.6";
  empty_name.module_offset = 0x2a;
  EXPECT_EQ(normalize_frame(empty_name).text, "libc.so.6@0x2a");
}

TEST(NormalizeFrame, HostileInputStaysBounded) {
  std::string deep(100000, '<');
  EXPECT_EQ(normalize_cpp_function(deep), "<T>");
  EXPECT_LE(normalize_rust_function(deep).size(), 100u);
  std::string nested;
  for (int i = 0; i < 5000; ++i) nested += "<a as b";
  EXPECT_LE(normalize_rust_function(nested).size(), nested.size() + 64);
  EXPECT_EQ(normalize_cpp_function(std::string(50000, '(')), "");
  EXPECT_EQ(normalize_cpp_function("operator"), "operator");
  EXPECT_EQ(normalize_cpp_function("Foo::operator"), "Foo::operator");
  EXPECT_EQ(normalize_cpp_function(std::string("a\0b", 3)), std::string("a\0b", 3));
}

TEST(NormalizeFrame, IsIdempotent) {
  for (const char* name : {"std::operator<< <std::char_traits<char> >(std::ostream&, char const*)",
                           "nsTSubstring<char>::operator char const*() const", "operator delete[](void*)",
                           "`anonymous namespace'::CrashFunction", "void Foo<int>::Bar(int) const",
                           // Shapes the fuzzer found (fuzz/signature/regressions/).
                           "`anonymous namespace'::<lambda_7c2a91f3b1d2>::operator()(void)",
                           "Foo::operator char .part\n() const", "a[thunk][thunk]::", "x::operator[clone .y]!z",
                           "f [clone\n.cold]", "A::operator(n()::B::operator(x)", "`anonymous  namespace'::f"}) {
    std::string once = normalize_cpp_function(name);
    EXPECT_EQ(normalize_cpp_function(once), once) << name;
  }
  for (const char* name : {"<fn() as core::ops::function::FnOnce<()>>::call_once", "std::rt::lang_start::<()>::{closure#0}",
                           "<<a::b as core-", "x::foo::h0123456789abcdef::<u8>"}) {
    std::string once = normalize_rust_function(name);
    EXPECT_EQ(normalize_rust_function(once), once) << name;
  }
}

}  // namespace
}  // namespace bw::signature
