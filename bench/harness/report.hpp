// Results of the throughput harness: one Series per (profile, workers), min/median/max over
// runs, written as JSON (for plots) and as a Markdown table (for people).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nfgate::bench {

struct Series {
    std::string profile;  // established, conn-storm, mixed-imix
    unsigned workers = 1;
    uint64_t flows = 0;   // established flows in the table while timed
    std::vector<double> cycles_per_packet, mpps, conn_per_s, gbps, drops;
    std::vector<double> interrupted_share;  // fraction of bursts left out of the timing
    bool failed = false;
    std::vector<std::string> errors;
};

struct Summary {
    double min = 0, median = 0, max = 0;
};
Summary summarize(std::vector<double> v);

struct ReportMeta {
    double tsc_hz = 0;
    unsigned runs = 0;
    std::string cpu;
};

bool write_json(const std::string& path, const ReportMeta& meta, const std::vector<Series>& all, std::string& err);
std::string markdown(const ReportMeta& meta, const std::vector<Series>& all);

}  // namespace nfgate::bench
