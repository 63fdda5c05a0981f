#include "control/bgp/bird_reply.hpp"

#include <cctype>
#include <charconv>
#include <sstream>

namespace nfgate::bgp {

namespace {

bool digits4(std::string_view s) {
    if (s.size() < 4) return false;
    for (size_t i = 0; i < 4; ++i)
        if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

template <class T>
bool to_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end != s.data();
}

bool feed_line(std::string_view line, BirdReply& reply) {
    if (!line.empty() && line.front() == ' ') {  // continues the previous code
        reply.lines.push_back({reply.lines.empty() ? 0 : reply.lines.back().code, std::string(line.substr(1))});
        return true;
    }
    if (!digits4(line) || (line.size() > 4 && line[4] != '-' && line[4] != ' ')) return false;
    int code = 0;
    to_number(line.substr(0, 4), code);
    reply.lines.push_back({code, std::string(line.size() > 5 ? line.substr(5) : std::string_view{})});
    if (line.size() == 4 || line[4] == ' ') reply.final_code = code;
    return true;
}

}  // namespace

std::string BirdReply::text() const {
    std::string out;
    for (const Line& l : lines) {
        if (trim(l.text).empty()) continue;
        if (!out.empty()) out += '\n';
        out += std::string(trim(l.text));
    }
    return out;
}

bool feed_bird_reply(std::string_view data, std::string& partial, BirdReply& reply) {
    partial.append(data);
    size_t start = 0;
    for (size_t nl; !reply.complete() && (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1)
        if (!feed_line(std::string_view(partial).substr(start, nl - start), reply)) return false;
    partial.erase(0, start);
    return true;
}

std::vector<BgpSession> parse_bgp_sessions(const BirdReply& reply) {
    std::vector<BgpSession> out;
    BgpSession* cur = nullptr;
    for (const BirdReply::Line& l : reply.lines) {
        if (l.code == 1002) {  // Name Proto Table State Since Info
            std::istringstream row(l.text);
            std::string name, proto, table, state, since;
            row >> name >> proto >> table >> state >> since;
            cur = nullptr;
            if (proto != "BGP") continue;
            BgpSession s;
            s.protocol = name;
            s.state = state == "down" ? "down" : "";
            to_number(std::string_view(since), s.since_unix);
            std::string info;
            std::getline(row, info);
            s.info = std::string(trim(info));
            out.push_back(std::move(s));
            cur = &out.back();
            continue;
        }
        if (cur == nullptr || l.code != 1006) continue;
        const std::string_view t = trim(l.text);
        const size_t colon = t.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view key = trim(t.substr(0, colon)), value = trim(t.substr(colon + 1));
        if (key == "BGP state") cur->state = std::string(value);
        else if (key == "Neighbor address") cur->peer = std::string(value);
        else if (key == "Neighbor AS") to_number(value, cur->peer_asn);
        else if (key == "Routes") {  // "1 imported, 2 exported, 0 preferred"
            std::istringstream r{std::string(value)};
            uint64_t n = 0;
            std::string what;
            while (r >> n >> what) {
                if (what.rfind("imported", 0) == 0) cur->imported = n;
                if (what.rfind("exported", 0) == 0) cur->exported = n;
            }
        }
    }
    for (BgpSession& s : out)
        if (s.state.empty()) s.state = "unknown";
    return out;
}

}  // namespace nfgate::bgp
