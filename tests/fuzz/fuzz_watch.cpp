// libFuzzer target: the Kubernetes API answers nfgate decodes (control/kube/api_decode.hpp) and
// the list/watch cycle that follows them (watch_machine.hpp), on arbitrary bytes.
// The first input byte picks: bit 0 a List page (else one watch event line), bit 1 EndpointSlices
// (else Services), bit 2 the watch machine driven by the rest (else the decoder).
// Invariants of the decoder: nothing thrown; a refusal says why; every finding about an object
// names the API as its source, the object and a message; a decoded Service or slice is the object
// its key names; the same bytes decode the same way twice.
// Invariants of the machine: every request is a well-formed path of its resource and phase, a
// backoff never exceeds its cap nor comes before now, a 410 always lists again from scratch.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "control/kube/api_decode.hpp"
#include "control/kube/watch_machine.hpp"
#include "control/loader/config_loader.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace nfgate;
using kube::Resource;

Model g_gateway;
unsigned long g_decoded = 0, g_usable = 0, g_steps = 0;  // printed at exit

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "fuzz_watch: %s\n", what.c_str());
    std::abort();
}

void check_object(const kube::DecodedObject& o, Resource r) {
    for (const auto& d : o.errors)
        if (d.file != kube::kApiSource || d.object.empty() || d.message.empty())
            finding("an error about an API object does not name the API, the object and why: " + d.str());
    if (o.service && (r != Resource::services || o.service->svc.ns != o.key.ns || o.service->svc.name != o.key.name))
        finding("a decoded Service is not the object its key names: " + o.key.str());
    if (o.slice && (r != Resource::endpoint_slices || o.slice->ns != o.key.ns || o.slice->name != o.key.name))
        finding("a decoded EndpointSlice is not the object its key names: " + o.key.str());
    if (o.usable() && !o.errors.empty()) finding("an object both usable and in error: " + o.key.str());
    ++g_decoded;
    g_usable += o.usable();
}

std::string keys_of(const kube::ListPage& p) {
    std::string s;
    for (const auto& o : p.items) s += o.key.str() + (o.usable() ? "+" : "-") + "|";
    return s + p.resource_version + "|" + p.continue_token;
}

void decode(std::string_view body, bool list, Resource r) {
    std::string err;
    try {
        if (list) {
            kube::ListPage a, b;
            const bool ok = kube::decode_list(body, r, g_gateway, a, err);
            if (!ok && err.empty()) finding("a refused List page without a reason");
            if (!ok) return;
            for (const auto& o : a.items) check_object(o, r);
            std::string err2;
            if (!kube::decode_list(body, r, g_gateway, b, err2) || keys_of(a) != keys_of(b))
                finding("the same List page decoded two ways");
        } else {
            kube::WatchEvent ev;
            const bool ok = kube::decode_event(body, r, g_gateway, ev, err);
            if (!ok && err.empty()) finding("a refused watch event without a reason");
            if (!ok) return;
            if (ev.type == kube::WatchEvent::Type::added || ev.type == kube::WatchEvent::Type::modified)
                check_object(ev.object, r);
        }
    } catch (const std::exception& e) {
        finding(std::string("the decoder threw: ") + e.what());
    }
}

void drive_machine(const uint8_t* data, size_t size, Resource r) {
    kube::WatchTiming timing;
    size_t jitter_at = 0;
    kube::WatchMachine m(r, timing, [&] { return size == 0 ? 0.5 : data[jitter_at++ % size] / 256.0; });
    const std::string base = r == Resource::services ? "/api/v1/services?" : "/apis/discovery.k8s.io/v1/endpointslices?";
    kube::Clock::time_point now{};
    for (size_t i = 0; i + 1 < size; i += 2) {
        now += std::chrono::milliseconds(data[i + 1] * 20);
        const std::string token(reinterpret_cast<const char*>(data + i), std::min<size_t>((data[i] >> 4) & 3, size - i));
        switch (data[i] % 7) {
            case 0: m.on_list_page(token, ""); break;
            case 1: m.on_list_page(token, "c" + token); break;
            case 2: m.on_watch_started(now); break;
            case 3: m.on_event(token); break;
            case 4: m.on_watch_end(now); break;
            case 5:
                m.on_gone(now);
                if (m.phase() != kube::WatchMachine::Phase::listing || !m.resource_version().empty() ||
                    m.next().target.find("continue=") != std::string::npos)
                    finding("a 410 did not start a fresh list");
                break;
            default:
                m.on_failure(now);
                if (m.last_backoff() > timing.backoff_cap || m.next().not_before < now)
                    finding("a backoff past its cap or before now");
                break;
        }
        const kube::WatchMachine::Request q = m.next();
        if (q.target.rfind(base, 0) != 0) finding("a request outside its resource: " + q.target);
        const bool watching = q.target.find("watch=1") != std::string::npos;
        if (watching != (q.phase == kube::WatchMachine::Phase::watching))
            finding("a request of the wrong phase: " + q.target);
        for (char c : q.target)
            if (c <= ' ' || c == '#' || static_cast<unsigned char>(c) >= 0x7f) finding("an unescaped byte in " + q.target);
        ++g_steps;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const std::string dir = fuzz::scratch_dir("watch");
    std::filesystem::create_directories(dir + "/cluster");
    std::ofstream(dir + "/gateway.yaml") << fuzz::kGateway;
    loader::LoadedSources s = loader::load_sources(dir + "/gateway.yaml", loader::LoadOptions{});
    std::filesystem::remove_all(dir);
    if (!s.errors.empty()) finding("the fuzzer's own gateway file: " + s.errors[0].str());
    g_gateway = s.gateway;
    std::atexit([] {
        std::fprintf(stderr, "fuzz_watch: %lu objects decoded (%lu usable), %lu watch-machine steps checked\n",
                     g_decoded, g_usable, g_steps);
    });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const uint8_t mode = data[0];
    const Resource r = (mode & 2) ? Resource::endpoint_slices : Resource::services;
    if (mode & 4) drive_machine(data + 1, size - 1, r);
    else decode(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), mode & 1, r);
    return 0;
}
