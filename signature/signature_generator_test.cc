// Signature generation with the shipped lists. Every case is a real frame list: from the corpus's
// Breakpad and rust-minidump outputs (../shared/testdata/expected), or the shape real C++, Rust,
// Windows, Linux, macOS and Android crashes have (frames named as dump_syms writes them).
#include "signature/signature_generator.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace bw::signature {
namespace {

Frame fn(std::string function, std::string module, std::string file = "", std::optional<uint64_t> line = std::nullopt) {
  Frame f;
  f.function = std::move(function);
  f.module = std::move(module);
  f.file = std::move(file);
  f.line = line;
  return f;
}

Frame unsymbolized(std::string module, uint64_t module_offset) {
  Frame f;
  f.module = std::move(module);
  f.module_offset = module_offset;
  return f;
}

SignatureInput stack(std::vector<Frame> frames) {
  SignatureInput input;
  input.crashing_thread_known = true;
  for (size_t i = 0; i < frames.size(); ++i) frames[i].index = static_cast<int>(i);
  input.frames = std::move(frames);
  return input;
}

const SignatureGenerator& gen() {
  static const SignatureGenerator g = SignatureGenerator::builtin();
  return g;
}

bool has_note(const SignatureResult& r, std::string_view needle) {
  for (const auto& d : r.debug) {
    if (d.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string all_notes(const SignatureResult& r) {
  std::string s;
  for (const auto& d : r.debug) s += d + "\n";
  return s;
}

TEST(Signature, CppTemplatesAndOperators) {
  // An out-of-bounds nsTArray index (Linux, libxul with symbols).
  auto r = gen().generate(stack({
      fn("mozilla::detail::InvalidArrayIndex_CRASH(unsigned long, unsigned long)", "libxul.so"),
      fn("nsTArray_Impl<RefPtr<nsINode>, nsTArrayInfallibleAllocator>::ElementAt(unsigned long)", "libxul.so"),
      fn("mozilla::dom::FragmentOrElement::GetChildAt_Deprecated(unsigned int) const", "libxul.so"),
  }));
  EXPECT_EQ(r.signature, "nsTArray_Impl<T>::ElementAt") << all_notes(r);
  EXPECT_EQ(r.proto_signature,
            "mozilla::detail::InvalidArrayIndex_CRASH | nsTArray_Impl<T>::ElementAt | "
            "mozilla::dom::FragmentOrElement::GetChildAt_Deprecated");
  EXPECT_TRUE(has_note(r, "irrelevant, skipped (builtin:irrelevant.txt:")) << all_notes(r);

  // A std::function called after its target died; the lambda's operator() is the crash.
  r = gen().generate(stack({
      fn("std::_Func_impl_no_alloc<`lambda at mozilla::layers::CompositorBridgeParent::ScheduleComposition'::`2'::<lambda_1>,void>::_Do_call()", "xul.dll"),
      fn("std::function<void ()>::operator()() const", "xul.dll"),
      fn("mozilla::layers::CompositorVsyncScheduler::Composite(mozilla::VsyncEvent const&)", "xul.dll"),
  }));
  EXPECT_EQ(r.signature, "std::_Func_impl_no_alloc<T>::_Do_call");

  // Comparing strings through a dangling reference: memcmp is a prefix, operator< is the caller.
  r = gen().generate(stack({
      fn("__memcmp_avx2_movbe", "libc.so.6"),
      fn("bool std::operator< <char, std::char_traits<char>, std::allocator<char> >(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)", "libapp.so"),
      fn("std::_Rb_tree<std::__cxx11::basic_string<char>, std::pair<std::__cxx11::basic_string<char> const, int> >::find(std::__cxx11::basic_string<char> const&)", "libapp.so"),
  }));
  EXPECT_EQ(r.signature, "__memcmp_avx2_movbe | std::operator< <T>") << all_notes(r);
}

TEST(Signature, RustHashesAndGenerics) {
  // pipeline-inlines-macos-segv.json frame 0 with its inlined callee.
  Frame inlined = fn("core::ptr::write_volatile::<u8>", "crash-client", "/rustc/fdca237d5194bf8a1c9b437ebd2114d1c2ba6195/library/core/src/ptr/mod.rs", 1574);
  inlined.inlined = true;
  auto r = gen().generate(stack({
      inlined,
      fn("sadness_generator::raise_segfault", "crash-client", "/Users/x/.cargo/git/checkouts/crash-handling-42fc4843e3f89d91/4b757db/sadness-generator/src/lib.rs", 133),
      fn("crash_client::real_main::{closure#1}", "crash-client", "main.rs", 88),
  }));
  EXPECT_EQ(r.signature, "core::ptr::write_volatile | sadness_generator::raise_segfault") << all_notes(r);

  // A Rust panic in Firefox's style system (Linux, legacy-mangled names with hashes).
  SignatureInput panic = stack({
      fn("__pthread_kill_implementation", "libc.so.6"),
      fn("raise", "libc.so.6"),
      fn("abort", "libc.so.6"),
      fn("std::sys::unix::abort_internal::h2a3fe1b6b0be6a0b", "libxul.so"),
      fn("std::process::abort::h6bc3b0e6d0d8b66c", "libxul.so"),
      fn("gkrust_shared::panic_hook::h1d2e7ce0b02c86b3", "libxul.so"),
      fn("std::panicking::rust_panic_with_hook::h8a3c2f5be4e1a0f7", "libxul.so"),
      fn("std::panicking::begin_panic_handler::{{closure}}::h3e8f9a1b2c3d4e5f", "libxul.so"),
      fn("std::sys_common::backtrace::__rust_end_short_backtrace::h5c6d7e8f9a0b1c2d", "libxul.so"),
      fn("rust_begin_unwind", "libxul.so"),
      fn("core::panicking::panic_fmt::h9f8e7d6c5b4a3928", "libxul.so"),
      fn("core::panicking::panic::h0a1b2c3d4e5f6a7b", "libxul.so"),
      fn("core::option::Option<T>::unwrap::h1b2c3d4e5f6a7b8c", "libxul.so"),
      fn("<style::values::specified::Length as style::parser::Parse>::parse::h2c3d4e5f6a7b8c9d", "libxul.so"),
      fn("style::properties::longhands::width::parse_specified::h3d4e5f6a7b8c9d0e", "libxul.so"),
  });
  r = gen().generate(panic);
  EXPECT_EQ(r.signature, "<style::values::specified::Length as style::parser::Parse>::parse") << all_notes(r);
  panic.abort_message = "called `Option::unwrap()` on a `None` value";
  panic.abort_message_field = "MozCrashReason";
  EXPECT_EQ(gen().generate(panic).signature,
            "Abort | called `Option::unwrap()` on a `None` value | <style::values::specified::Length as style::parser::Parse>::parse");

  // Generic details do not split one bug into many signatures.
  auto vec_u8 = gen().generate(stack({fn("<alloc::vec::Vec<u8> as core::ops::drop::Drop>::drop::h1111111111111111", "app", "vec.rs", 10)}));
  auto vec_str = gen().generate(stack({fn("<alloc::vec::Vec<alloc::string::String> as core::ops::drop::Drop>::drop::h2222222222222222", "app", "vec.rs", 10)}));
  EXPECT_EQ(vec_u8.signature, "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop");
  EXPECT_EQ(vec_u8.signature, vec_str.signature);
}

TEST(Signature, WindowsDllRunsCollapse) {
  // A graphics-driver crash: the unsymbolized driver frames are one entry, named without offset
  // because the walk goes on to the first frame that says who called into the driver.
  auto r = gen().generate(stack({
      unsymbolized("nvwgf2umx.dll", 0x6b2f1c),
      unsymbolized("nvwgf2umx.dll", 0x6b0a44),
      unsymbolized("nvwgf2umx.dll", 0x2d1f08),
      fn("CContext::TID3D11DeviceContext_Map_<1>(ID3D11DeviceContext4*, ID3D11Resource*, unsigned int, D3D11_MAP, unsigned int, D3D11_MAPPED_SUBRESOURCE*)", "d3d11.dll"),
      fn("mozilla::layers::TextureClientD3D11::Lock(mozilla::layers::OpenMode)", "xul.dll"),
  }));
  EXPECT_EQ(r.signature, "nvwgf2umx.dll | CContext::TID3D11DeviceContext_Map_<T>") << all_notes(r);
  EXPECT_TRUE(has_note(r, "same unsymbolized module as the previous kept frame, collapsed"));

  // The same driver crash in another driver build (other offsets) gets the same signature.
  auto other_build = gen().generate(stack({
      unsymbolized("nvwgf2umx.dll", 0x71aa30),
      unsymbolized("nvwgf2umx.dll", 0x2e0118),
      fn("CContext::TID3D11DeviceContext_Map_<1>(ID3D11DeviceContext4*, ID3D11Resource*, unsigned int, D3D11_MAP, unsigned int, D3D11_MAPPED_SUBRESOURCE*)", "d3d11.dll"),
  }));
  EXPECT_EQ(other_build.signature, r.signature);

  // Unsymbolized system DLLs in between are skipped; another unsymbolized driver DLL is its own entry.
  r = gen().generate(stack({
      unsymbolized("igd10iumd64.dll", 0x1c2d3e),
      unsymbolized("igd10iumd64.dll", 0x1a0b0c),
      unsymbolized("ntdll.dll", 0x2f3b4),
      unsymbolized("d3d11.dll", 0x4a5b6),
      unsymbolized("d3d11.dll", 0x4a0f0),
      fn("mozilla::gl::GLContext::fFinish()", "xul.dll"),
  }));
  EXPECT_EQ(r.signature, "igd10iumd64.dll | d3d11.dll | mozilla::gl::GLContext::fFinish") << all_notes(r);
}

TEST(Signature, NoSymbolsKeepsUnrelatedCrashesApart) {
  // firefox-linux-x86_64.machine.txt: libxul.so has no symbols.
  auto linux_crash = gen().generate(stack({
      unsymbolized("libxul.so", 0x34464e8), unsymbolized("libxul.so", 0x5286c4b), unsymbolized("libxul.so", 0x53a09ff),
      fn("main", "firefox-bin", "hg:hg.mozilla.org/mozilla-central:browser/app/nsBrowserApp.cpp:855ec176a3c2239fe2f166431c96ee7710204b30", 337),
      fn("__libc_start_main", "libc.so.6"),
  }));
  EXPECT_EQ(linux_crash.signature, "libxul.so@0x34464e8");
  // firefox-android-arm.machine.txt, crashing thread 15.
  auto android = gen().generate(stack({unsymbolized("libxul.so", 0x231a2d0), unsymbolized("base.apk", 0x2197a72)}));
  EXPECT_EQ(android.signature, "libxul.so@0x231a2d0");
  EXPECT_NE(linux_crash.signature, android.signature);
  // firefox-macos-x86_64.machine.txt and firefox-windows-x86_64.machine.txt.
  EXPECT_EQ(gen().generate(stack({unsymbolized("XUL", 0x4f045e9), unsymbolized("XUL", 0x5df86c)})).signature, "XUL@0x4f045e9");
  EXPECT_EQ(gen().generate(stack({unsymbolized("xul.dll", 0x38ab264), unsymbolized("xul.dll", 0x4f79022)})).signature,
            "xul.dll@0x38ab264");
  // A third-party DLL that is not on the prefix list keeps its offset.
  auto hook_a = gen().generate(stack({unsymbolized("avghookx.dll", 0x1a2b), fn("mozilla::Foo()", "xul.dll")}));
  auto hook_b = gen().generate(stack({unsymbolized("avghookx.dll", 0x9f00), fn("mozilla::Foo()", "xul.dll")}));
  EXPECT_EQ(hook_a.signature, "avghookx.dll@0x1a2b");
  EXPECT_NE(hook_a.signature, hook_b.signature);

  // Code outside every module (JIT, garbage) is skipped; a call through a null pointer is kept.
  Frame jit;
  jit.offset = 0x1ddb5ab4800;
  Frame null_call;
  null_call.offset = 0;
  EXPECT_EQ(gen().generate(stack({jit, unsymbolized("xul.dll", 0x12fac63)})).signature, "xul.dll@0x12fac63");
  EXPECT_EQ(gen().generate(stack({null_call, fn("nsObserverService::NotifyObservers(nsISupports*, char const*, char16_t const*)", "xul.dll")})).signature,
            "@0x0 | nsObserverService::NotifyObservers");
}

TEST(Signature, Sentinels) {
  // A pure virtual call: the application's purecall handler and the dump writer sit above
  // _purecall; the signature starts at the sentinel, which is also a prefix.
  auto r = gen().generate(stack({
      fn("CrashReporter::WriteMinidumpForPurecall()", "xul.dll"),
      fn("mozilla::(anonymous namespace)::PurecallHandler()", "xul.dll"),
      fn("_purecall", "ucrtbase.dll"),
      fn("mozilla::dom::Promise::MaybeResolve(JS::Handle<JS::Value>)", "xul.dll"),
      fn("mozilla::dom::FetchDriver::OnStopRequest(nsIRequest*, nsresult)", "xul.dll"),
  }));
  EXPECT_EQ(r.signature, "_purecall | mozilla::dom::Promise::MaybeResolve") << all_notes(r);
  EXPECT_TRUE(has_note(r, "sentinel: starting at frame 2 \"_purecall\" (builtin:sentinels.txt:"));

  // MSVC invalid-parameter reports.
  r = gen().generate(stack({
      fn("google_breakpad::ExceptionHandler::HandleInvalidParameter(wchar_t const*, wchar_t const*, wchar_t const*, unsigned int, unsigned int)", "app.exe"),
      fn("_invalid_parameter", "ucrtbase.dll"),
      fn("_invalid_parameter_noinfo", "ucrtbase.dll"),
      fn("_get_osfhandle", "ucrtbase.dll"),
      fn("Logger::Flush()", "app.exe"),
  }));
  EXPECT_EQ(r.signature, "_invalid_parameter_noinfo | _get_osfhandle") << all_notes(r);
}

TEST(Signature, IrrelevantRuns) {
  // glibc detects a double free: abort, message and malloc internals are skipped; free is a prefix.
  auto r = gen().generate(stack({
      fn("__pthread_kill_implementation", "libc.so.6", "./nptl/pthread_kill.c", 44),
      fn("__pthread_kill_internal", "libc.so.6", "./nptl/pthread_kill.c", 78),
      fn("__GI_raise", "libc.so.6", "../sysdeps/posix/raise.c", 26),
      fn("__GI_abort", "libc.so.6", "./stdlib/abort.c", 79),
      fn("__libc_message", "libc.so.6", "../sysdeps/posix/libc_fatal.c", 155),
      fn("malloc_printerr", "libc.so.6", "./malloc/malloc.c", 5660),
      fn("_int_free", "libc.so.6", "./malloc/malloc.c", 4469),
      fn("__GI___libc_free", "libc.so.6", "./malloc/malloc.c", 3385),
      fn("nsTArray_base<nsTArrayInfallibleAllocator, nsTArray_RelocateUsingMemutils>::ShrinkCapacityToZero(unsigned long, unsigned long)", "libxul.so"),
      fn("mozilla::dom::Document::~Document()", "libxul.so"),
  }));
  EXPECT_EQ(r.signature, "__GI___libc_free | nsTArray_base<T>::ShrinkCapacityToZero") << all_notes(r);

  // A failed assert() on macOS.
  r = gen().generate(stack({
      fn("__pthread_kill", "libsystem_kernel.dylib"),
      fn("pthread_kill", "libsystem_pthread.dylib"),
      fn("abort", "libsystem_c.dylib"),
      fn("__assert_rtn", "libsystem_c.dylib"),
      fn("sqlite3VdbeExec", "libsqlite3.dylib"),
  }));
  EXPECT_EQ(r.signature, "sqlite3VdbeExec");

  // An uncaught C++ exception on Android (libc++).
  r = gen().generate(stack({
      fn("abort", "libc.so"),
      fn("abort_message", "libc++_shared.so"),
      fn("std::__terminate(void (*)())", "libc++_shared.so"),
      fn("__cxa_throw", "libc++_shared.so"),
      fn("std::__1::__throw_out_of_range[abi:v15006](char const*)", "libapp.so"),
      fn("std::__1::vector<Track, std::__1::allocator<Track> >::at(unsigned long)", "libapp.so"),
      fn("Player::NextTrack()", "libapp.so"),
  }));
  EXPECT_EQ(r.signature, "std::__1::vector<T>::at") << all_notes(r);

  // Every frame irrelevant: the first frame considered is used, with a note.
  r = gen().generate(stack({fn("abort", "libc.so.6"), fn("raise", "libc.so.6")}));
  EXPECT_EQ(r.signature, "abort");
  EXPECT_TRUE(has_note(r, "every frame was irrelevant"));
}

TEST(Signature, OutOfMemory) {
  // firefox-windows-x86_64.machine.txt frame 5 is moz_xmalloc in mozglue.dll.
  SignatureInput oom = stack({
      fn("mozalloc_abort", "mozglue.dll"),
      fn("mozalloc_handle_oom(unsigned long long)", "mozglue.dll"),
      fn("moz_xmalloc(unsigned long long)", "mozglue.dll"),
      fn("nsTArray_base<nsTArrayInfallibleAllocator, nsTArray_RelocateUsingMemutils>::EnsureCapacity<nsTArrayInfallibleAllocator>(unsigned long long, unsigned long long)", "xul.dll"),
      fn("mozilla::ipc::MessageChannel::OnMessageReceivedFromLink(IPC::Message&&)", "xul.dll"),
  });
  oom.oom_allocation_size = 4096;
  auto r = gen().generate(oom);
  EXPECT_EQ(r.signature, "OOM | small") << all_notes(r);

  oom.oom_allocation_size = 256 * 1024;  // at the limit: still small
  EXPECT_EQ(gen().generate(oom).signature, "OOM | small");

  oom.oom_allocation_size = 134217728;
  r = gen().generate(oom);
  EXPECT_EQ(r.signature, "OOM | large | moz_xmalloc | nsTArray_base<T>::EnsureCapacity<T>") << all_notes(r);

  // No size annotation, but an OOM handler frame: size unknown.
  oom.oom_allocation_size.reset();
  r = gen().generate(oom);
  EXPECT_EQ(r.signature, "OOM | unknown | moz_xmalloc | nsTArray_base<T>::EnsureCapacity<T>") << all_notes(r);
  EXPECT_TRUE(has_note(r, "builtin:oom.txt:"));

  // Rust: alloc::alloc::handle_alloc_error.
  r = gen().generate(stack({
      fn("std::process::abort::h6bc3b0e6d0d8b66c", "libxul.so"),
      fn("std::alloc::rust_oom::h0f1e2d3c4b5a6978", "libxul.so"),
      fn("__rg_oom", "libxul.so"),
      fn("alloc::alloc::handle_alloc_error::rt_error::h89abcdef01234567", "libxul.so"),
      fn("alloc::alloc::handle_alloc_error::h1234567890abcdef", "libxul.so"),
      fn("alloc::raw_vec::RawVec<T,A>::allocate_in::h2345678901abcdef", "libxul.so"),
      fn("webrender::renderer::Renderer::update_texture_cache::h3456789012abcdef", "libxul.so"),
  }));
  EXPECT_EQ(r.signature, "OOM | unknown | alloc::raw_vec::RawVec<T>::allocate_in | webrender::renderer::Renderer::update_texture_cache")
      << all_notes(r);
}

TEST(Signature, AbortMessages) {
  // Gecko NS_DebugBreak abort with its source location.
  SignatureInput input = stack({
      fn("NS_DebugBreak", "libxul.so"),
      fn("mozilla::ipc::MessageChannel::OnChannelErrorFromLink()", "libxul.so"),
      fn("mozilla::ipc::MessageChannel::OnNotifyMaybeChannelError()", "libxul.so"),
  });
  input.abort_message = "###!!! ABORT: Aborting on channel error.: file /builds/worker/checkouts/gecko/ipc/glue/MessageChannel.cpp:2717";
  input.abort_message_field = "AbortMessage";
  auto r = gen().generate(input);
  EXPECT_EQ(r.signature, "Abort | Aborting on channel error. | mozilla::ipc::MessageChannel::OnChannelErrorFromLink") << all_notes(r);

  // firefox-linux-x86_64.json's MozCrashReason on its (unsymbolized) stack.
  SignatureInput about_crash = stack({unsymbolized("libxul.so", 0x34464e8), unsymbolized("libxul.so", 0x5286c4b)});
  about_crash.abort_message = "MOZ_CRASH(Crash via about:crashparent)";
  about_crash.abort_message_field = "MozCrashReason";
  EXPECT_EQ(gen().generate(about_crash).signature, "Abort | MOZ_CRASH(Crash via about:crashparent) | libxul.so@0x34464e8");

  // Values inside messages do not split signatures; long messages are cut.
  EXPECT_EQ(clean_abort_message("IPC message size 134217728 too large at 0x7ffac82db264"), "IPC message size N too large at 0xN");
  EXPECT_EQ(clean_abort_message("index out of bounds: the len is 3 but the index is 5"),
            "index out of bounds: the len is N but the index is N");
  EXPECT_EQ(clean_abort_message("unsupported x86_64 feature"), "unsupported x86_64 feature");
  std::string long_message(200, 'x');
  EXPECT_EQ(clean_abort_message(long_message).size(), 80u);
  EXPECT_EQ(clean_abort_message(long_message).substr(77), "...");
}

TEST(Signature, StackOverflow) {
  // Windows: unbounded recursion in the JS parser.
  SignatureInput input = stack({
      fn("js::frontend::GeneralParser<js::frontend::FullParseHandler, char16_t>::unaryExpr(js::frontend::YieldHandling, js::frontend::TripledotHandling, js::frontend::PossibleError*, js::frontend::InvokedPrediction, js::frontend::PrivateNameHandling)", "xul.dll"),
      fn("js::frontend::GeneralParser<js::frontend::FullParseHandler, char16_t>::orExpr(js::frontend::InHandling, js::frontend::YieldHandling, js::frontend::TripledotHandling, js::frontend::PossibleError*, js::frontend::InvokedPrediction)", "xul.dll"),
  });
  input.reason = "EXCEPTION_STACK_OVERFLOW";
  auto r = gen().generate(input);
  EXPECT_EQ(r.signature, "stackoverflow | js::frontend::GeneralParser<T>::unaryExpr") << all_notes(r);

  // Rust's guard-page message: stackoverflow, and the message is not repeated as an abort.
  SignatureInput rust = stack({fn("serde_json::de::Deserializer<R>::parse_value::h0123456789abcdef", "app", "de.rs", 1800)});
  rust.abort_message = "thread 'main' has overflowed its stack";
  rust.abort_message_field = "MozCrashReason";
  EXPECT_EQ(gen().generate(rust).signature, "stackoverflow | serde_json::de::Deserializer<T>::parse_value");
}

TEST(Signature, Hangs) {
  SignatureInput input = stack({
      fn("ZwWaitForAlertByThreadId", "ntdll.dll"),
      fn("NtWaitForSingleObject", "ntdll.dll"),
      fn("WaitForSingleObjectEx", "KERNELBASE.dll"),
      fn("mozilla::detail::ConditionVariableImpl::wait(mozilla::detail::MutexImpl&)", "mozglue.dll"),
      fn("mozilla::ThreadEventQueue::GetEvent(bool, mozilla::TimeDuration*)", "xul.dll"),
  });
  input.hang = true;
  input.hang_field = "hang_type";
  auto r = gen().generate(input);
  EXPECT_EQ(r.signature, "hang | mozilla::detail::ConditionVariableImpl::wait") << all_notes(r);
  EXPECT_TRUE(has_note(r, "hang (hang_type)"));
  input.hang = false;
  EXPECT_EQ(gen().generate(input).signature, "mozilla::detail::ConditionVariableImpl::wait");
}

TEST(Signature, IpcChannelError) {
  SignatureInput input = stack({unsymbolized("libxul.so", 0x1234)});
  input.ipc_channel_error = "ShutDownKill";
  EXPECT_EQ(gen().generate(input).signature, "IPCError-content | ShutDownKill");
  input.browser_dump = true;
  auto r = gen().generate(input);
  EXPECT_EQ(r.signature, "IPCError-browser | ShutDownKill");
  EXPECT_TRUE(has_note(r, "replaces \"libxul.so@0x1234\""));
}

TEST(Signature, EmptyStacks) {
  SignatureInput none;
  auto r = gen().generate(none);
  EXPECT_EQ(r.signature, "EMPTY: no crashing thread identified");
  EXPECT_EQ(r.proto_signature, "");

  SignatureInput no_frames = stack({});
  EXPECT_EQ(gen().generate(no_frames).signature, "EMPTY: no frame data available");
  no_frames.stackwalk_status = "ERROR_NO_THREAD_LIST";
  EXPECT_EQ(gen().generate(no_frames).signature, "EMPTY: no frame data available; ERROR_NO_THREAD_LIST");
  no_frames.stackwalk_status = "OK";
  EXPECT_EQ(gen().generate(no_frames).signature, "EMPTY: no frame data available");

  // OOM | small needs no frames.
  none.oom_allocation_size = 32;
  EXPECT_EQ(gen().generate(none).signature, "OOM | small");
}

TEST(Signature, CutAt255Characters) {
  // A long run of prefix frames (a use-after-free inside objc messaging and copying) with long
  // C++ names reaches the limit.
  std::vector<Frame> frames;
  for (int i = 0; i < 6; ++i) {
    frames.push_back(fn("objc_msgSend", "libobjc.A.dylib"));
    frames.push_back(fn("_platform_memmove$VARIANT$Haswell", "libsystem_platform.dylib"));
  }
  frames.push_back(fn("mozilla::widget::TextInputHandler::HandleKeyDownEvent(NSEvent*, unsigned int)", "XUL"));
  auto r = gen().generate(stack(frames));
  ASSERT_EQ(r.signature.size(), kMaxSignatureLength) << r.signature;
  EXPECT_EQ(r.signature.substr(252), "...");
  EXPECT_EQ(r.signature.substr(0, 39), "objc_msgSend | _platform_memmove$VARIAN");
  EXPECT_TRUE(has_note(r, "cut to 255"));

  // Exactly 255 stays whole; cuts never split a UTF-8 character.
  std::string exact(255, 'a');
  EXPECT_EQ(truncate_signature(exact), exact);
  std::string utf8 = std::string(251, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9";
  std::string cut = truncate_signature(utf8);
  EXPECT_EQ(cut, std::string(251, 'a') + "...");
}

TEST(Signature, MaxFramesLimitsTheWalk) {
  std::vector<Frame> frames(50, fn("memcpy", "libc.so.6"));
  frames.push_back(fn("Caller()", "app"));
  SignatureOptions options;
  options.max_frames = 3;
  SignatureGenerator small(SignatureLists::builtin(), options);
  auto r = small.generate(stack(frames));
  EXPECT_EQ(r.signature, "memcpy | memcpy | memcpy");
  EXPECT_EQ(r.proto_signature, "memcpy | memcpy | memcpy");
  EXPECT_TRUE(has_note(r, "considering the first 3 of 51 frames"));
}

TEST(Signature, ReplacedListsChangeTheWalk) {
  SignatureLists lists;
  lists.irrelevant = PatternList::parse("Logger::.*\n", "test-irrelevant");
  lists.prefix = PatternList::parse("Frame::Hop\n", "test-prefix");
  SignatureGenerator custom(std::move(lists));
  auto r = custom.generate(stack({fn("Logger::Write(char const*)", "app"), fn("Frame::Hop()", "app"), fn("Frame::Land()", "app")}));
  EXPECT_EQ(r.signature, "Frame::Hop | Frame::Land");
  EXPECT_TRUE(has_note(r, "(test-irrelevant:1 \"Logger::.*\")"));
}

TEST(Signature, FromConfig) {
  Config defaults = Config::defaults();
  auto g = SignatureGenerator::from_config(defaults);
  EXPECT_EQ(g.options().oom_small_limit, 256u * 1024u);
  EXPECT_EQ(g.options().max_frames, 40u);
  EXPECT_FALSE(g.lists().irrelevant.entries().empty());

  Config::Sources bad;
  bad.overrides.push_back({"signature.prefix_list", "/nonexistent/prefix.txt"});
  EXPECT_THROW(SignatureGenerator::from_config(Config::load(bad)), SignatureListError);
  Config::Sources frames;
  frames.overrides.push_back({"signature.max_frames", "0"});
  EXPECT_THROW(SignatureGenerator::from_config(Config::load(frames)), ConfigError);
}

TEST(Signature, IsThreadSafe) {
  const SignatureGenerator& g = gen();
  SignatureInput input = stack({fn("__GI___libc_free", "libc.so.6"), fn("Foo::Bar()", "app")});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (g.generate(input).signature != "__GI___libc_free | Foo::Bar") ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace bw::signature
