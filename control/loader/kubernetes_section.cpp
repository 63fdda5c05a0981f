#include "control/loader/kubernetes_section.hpp"

#include <charconv>
#include <filesystem>

namespace nfgate::loader {

namespace {

// A day between applies is no longer following the cluster; kube-proxy takes any duration, but
// a typo such as "1h" for "1s" should not pass silently.
constexpr uint64_t kMaxMinSyncMs = 10ull * 60 * 1000;

void read_min_sync(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    std::string text;
    if (!read_string(r, n, f, text)) return;
    uint64_t ms = 0;
    if (!parse_duration_ms(text, ms)) {
        r.error(n.line(), f, "\"" + text + "\" is not a duration (want e.g. 1s, 500ms, 2m; 0s applies every change at once)");
        return;
    }
    if (ms > kMaxMinSyncMs) {
        r.error(n.line(), f, "\"" + text + "\" is longer than 10m (want a period such as 1s, as kube-proxy's --min-sync-period)");
        return;
    }
    m.kubernetes.min_sync_ms = static_cast<uint32_t>(ms);
}

}  // namespace

bool parse_duration_ms(std::string_view s, uint64_t& ms) {
    if (s.empty()) return false;
    if (s == "0") {
        ms = 0;
        return true;
    }
    uint64_t total = 0;
    while (!s.empty()) {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || end == s.data()) return false;
        s.remove_prefix(static_cast<size_t>(end - s.data()));
        uint64_t unit = 0;
        if (s.starts_with("ms")) unit = 1, s.remove_prefix(2);
        else if (s.starts_with("h")) unit = 3600'000, s.remove_prefix(1);
        else if (s.starts_with("m")) unit = 60'000, s.remove_prefix(1);
        else if (s.starts_with("s")) unit = 1000, s.remove_prefix(1);
        else return false;
        if (v > (1ull << 40)) return false;
        total += v * unit;
    }
    ms = total;
    return true;
}

void read_kubernetes(Reporter& r, YNode n, const FieldPath& f, Model& m) {
    if (!expect_map(r, n, f)) return;
    reject_unknown_keys(r, n, f, {"kubeconfig", "inCluster", "minSyncPeriod"});
    FieldPath kc = f.child("kubeconfig"), ic = f.child("inCluster");
    std::string path;
    if (read_string(r, n.get("kubeconfig"), kc, path) && !path.empty()) {
        namespace fs = std::filesystem;
        fs::path p(path);
        if (p.is_relative()) p = (fs::path(r.file()).parent_path() / p).lexically_normal();
        m.kubernetes.kubeconfig = p.string();
    }
    read_bool(r, n.get("inCluster"), ic, m.kubernetes.in_cluster);
    if (m.kubernetes.in_cluster && !m.kubernetes.kubeconfig.empty())
        r.error(n.get("inCluster").line(), ic, "set together with kubeconfig (want one of them: kubeconfig: PATH, or inCluster: true)");
    else if (!m.kubernetes.enabled())
        r.error(n.line(), kc, "missing (want kubeconfig: PATH, e.g. /etc/nfgate/kubeconfig, or inCluster: true)");
    read_min_sync(r, n.get("minSyncPeriod"), f.child("minSyncPeriod"), m);
}

}  // namespace nfgate::loader
