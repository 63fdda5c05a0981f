#include "bench/harness/report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace nfgate::bench {

namespace {

std::string num(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v);
    return b;
}

std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o;
}

std::string stats_json(const std::vector<double>& v) {
    if (v.empty()) return "null";
    const Summary s = summarize(v);
    std::string runs;
    for (double x : v) runs += (runs.empty() ? "" : ", ") + num(x);
    return "{\"min\": " + num(s.min) + ", \"median\": " + num(s.median) + ", \"max\": " + num(s.max) +
           ", \"runs\": [" + runs + "]}";
}

std::string cell(const std::vector<double>& v, const char* fmt) {
    if (v.empty()) return "–";
    const Summary s = summarize(v);
    char b[96];
    std::snprintf(b, sizeof b, fmt, s.median, s.min, s.max);
    return b;
}

}  // namespace

Summary summarize(std::vector<double> v) {
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {v.front(), median, v.back()};
}

bool write_json(const std::string& path, const ReportMeta& meta, const std::vector<Series>& all, std::string& err) {
    std::ofstream out(path);
    if (!out) {
        err = "cannot write " + path;
        return false;
    }
    out << "{\n  \"benchmark\": \"nfgate_throughput\",\n  \"tsc_hz\": " << num(meta.tsc_hz)
        << ",\n  \"runs_per_series\": " << meta.runs << ",\n  \"cpu\": \"" << escape(meta.cpu)
        << "\",\n  \"series\": [\n";
    for (size_t i = 0; i < all.size(); ++i) {
        const Series& s = all[i];
        out << "    {\"profile\": \"" << s.profile << "\", \"workers\": " << s.workers << ", \"flows\": " << s.flows
            << ", \"failed\": " << (s.failed ? "true" : "false") << ",\n     \"cycles_per_packet\": "
            << stats_json(s.cycles_per_packet) << ",\n     \"mpps\": " << stats_json(s.mpps)
            << ",\n     \"conn_per_s\": " << stats_json(s.conn_per_s) << ",\n     \"gbps\": " << stats_json(s.gbps)
            << ",\n     \"drops\": " << stats_json(s.drops)
            << ",\n     \"interrupted_burst_share\": " << stats_json(s.interrupted_share) << ",\n     \"errors\": [";
        for (size_t e = 0; e < s.errors.size(); ++e) out << (e ? ", " : "") << "\"" << escape(s.errors[e]) << "\"";
        out << "]}" << (i + 1 < all.size() ? "," : "") << "\n";
    }
    out << "  ]\n}\n";
    return static_cast<bool>(out);
}

std::string markdown(const ReportMeta& meta, const std::vector<Series>& all) {
    std::string md = "| profile | workers | flows | cycles/pkt | Mpps | conn/s | Gbit/s | drops | verdict |\n"
                     "|---|---|---|---|---|---|---|---|---|\n";
    for (const Series& s : all) {
        md += "| " + s.profile + " | " + std::to_string(s.workers) + " | " + std::to_string(s.flows) + " | " +
              cell(s.cycles_per_packet, "%.0f (%.0f–%.0f)") + " | " + cell(s.mpps, "%.2f (%.2f–%.2f)") + " | " +
              cell(s.conn_per_s, "%.3g (%.3g–%.3g)") + " | " + cell(s.gbps, "%.2f (%.2f–%.2f)") + " | " +
              cell(s.drops, "%.0f (%.0f–%.0f)") + " | " + (s.failed ? "**FAILED**" : "ok") + " |\n";
    }
    char rate[48];
    std::snprintf(rate, sizeof rate, "%.3f GHz", meta.tsc_hz / 1e9);
    return md + "\nmedian (min–max) of " + std::to_string(meta.runs) + " runs; TSC " + rate +
           "; cycles and rates count only the worker's per-burst work (process_burst + TX flush + one ageing "
           "slice per 100 us, as the loaded worker loop); bursts the OS interrupted (longer than 100 us) are checked but left out of the timing. "
           "Frames: 60 bytes (64 on the wire) for IPv4, 78 bytes (82 on the wire: Ethernet, IPv6, TCP, the 4-byte tag) for the "
           "-v6 profiles, IMIX sizes for mixed-imix; the IPv4 profiles run on an IPv4-only gateway, the -v6 ones on the same "
           "gateway dual-stack.\n";
}

}  // namespace nfgate::bench
