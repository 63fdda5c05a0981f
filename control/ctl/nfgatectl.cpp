// nfgatectl: asks the running nfgate over its control socket and prints the answer, as a table
// for a person or as JSON (-o json) for a script. Exit status: 0 answered, 1 the daemon refused
// or failed the request (or a usage error), 2 the daemon cannot be reached.
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "control/api/api_socket.hpp"
#include "control/ctl/ctl_tables.hpp"

namespace po = boost::program_options;
using nfgate::api::Json;

namespace {

constexpr int kExitOk = 0, kExitFailed = 1, kExitUnreachable = 2;

struct Command {
    std::set<std::string> options;  // the command-specific options it takes
    size_t operands = 0;            // positional words after the command
    const char* usage;
};

const std::map<std::string, Command>& commands() {
    static const std::map<std::string, Command> c = {
        {"status", {{}, 0, "status"}},
        {"services", {{}, 0, "services"}},
        {"flows", {{"service", "endpoint", "client", "limit"}, 0,
                   "flows [--service NS/NAME] [--endpoint IP[:PORT] | [IPV6]:PORT] [--client IP] [--limit N]"}},
        {"counters", {{}, 0, "counters"}},
        {"trace", {{}, 3, "trace PROTO SRC:SPORT DST:DPORT"}},
        {"capture", {{"interface", "count", "write", "direction", "timeout"}, 0,
                     "capture --interface NAME --count N --write FILE [--direction rx|tx|both] [--timeout S]"}},
        {"reload", {{}, 0, "reload"}},
        {"bgp", {{}, 0, "bgp"}},
    };
    return c;
}

std::string usage_text(const po::options_description& opts) {
    std::string s = "usage: nfgatectl [--socket PATH] [-o table|json] COMMAND ...\n\ncommands:\n";
    for (const auto& [name, c] : commands()) s += std::string("  ") + c.usage + "\n";
    std::ostringstream o;
    o << opts;
    return s + "\n" + o.str();
}

// The request's "args" from the command line; false with err on a bad or misplaced option.
bool build_args(const std::string& cmd, const po::variables_map& vm, const std::vector<std::string>& operands,
                Json& args, std::string& err) {
    const Command& c = commands().at(cmd);
    for (const char* o : {"service", "endpoint", "client", "limit", "interface", "count", "write", "direction", "timeout"})
        if (vm.count(o) && !c.options.count(o)) {
            err = std::string("--") + o + " does not apply to " + cmd + " (usage: nfgatectl " + c.usage + ")";
            return false;
        }
    if (operands.size() != c.operands) {
        err = "usage: nfgatectl " + std::string(c.usage);
        return false;
    }
    args = Json::object();
    for (const char* o : {"service", "endpoint", "client", "interface", "direction"})
        if (vm.count(o)) args[o] = vm[o].as<std::string>();
    // The daemon writes the file: give it the path as this shell means it.
    if (vm.count("write")) args["write"] = std::filesystem::absolute(vm["write"].as<std::string>()).string();
    if (vm.count("timeout")) args["timeout"] = vm["timeout"].as<unsigned>();
    if (vm.count("limit")) args["limit"] = vm["limit"].as<size_t>();
    if (vm.count("count")) args["count"] = vm["count"].as<size_t>();
    if (cmd == "trace") {
        args["protocol"] = operands[0];
        args["source"] = operands[1];
        args["destination"] = operands[2];
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description opts("options");
    opts.add_options()
        ("help,h", "this text")
        ("socket", po::value<std::string>()->default_value("/run/nfgate/nfgate.sock"),
         "the daemon's control socket (control.socket)")
        ("output,o", po::value<std::string>()->default_value("table"), "table | json")
        ("service", po::value<std::string>(), "flows: only this Service (NAMESPACE/NAME)")
        ("endpoint", po::value<std::string>(), "flows: only flows to this backend (IP or IP:PORT; IPv6: [IP]:PORT)")
        ("client", po::value<std::string>(), "flows: only flows from this client IP (IPv4 or IPv6)")
        ("limit", po::value<size_t>(), "flows: at most N flows")
        ("interface", po::value<std::string>(), "capture: the port (interfaces[].name)")
        ("count", po::value<size_t>(), "capture: how many packets")
        ("write", po::value<std::string>(), "capture: the pcap file to write")
        ("direction", po::value<std::string>(), "capture: rx | tx | both (default both)")
        ("timeout", po::value<unsigned>(), "capture: give up after S seconds (default 30)");
    po::options_description hidden;
    hidden.add_options()("words", po::value<std::vector<std::string>>(), "command and operands");
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("words", -1);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "nfgatectl: " << e.what() << "\n\n" << usage_text(opts);
        return kExitFailed;
    }
    if (vm.count("help")) {
        std::cout << usage_text(opts);
        return kExitOk;
    }
    std::vector<std::string> words = vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (words.empty() || !commands().count(words[0])) {
        std::cerr << "nfgatectl: " << (words.empty() ? "no command given" : "unknown command \"" + words[0] + "\"")
                  << "\n\n" << usage_text(opts);
        return kExitFailed;
    }
    const std::string output = vm["output"].as<std::string>();
    if (output != "table" && output != "json") {
        std::cerr << "nfgatectl: -o " << output << ": want table or json\n";
        return kExitFailed;
    }
    const std::string cmd = words[0];
    Json args;
    std::string err;
    if (!build_args(cmd, vm, std::vector<std::string>(words.begin() + 1, words.end()), args, err)) {
        std::cerr << "nfgatectl: " << err << '\n';
        return kExitFailed;
    }

    const std::string socket = vm["socket"].as<std::string>();
    Json answer;
    // A capture answers when its packets came (or its own timeout passed): wait that long.
    const int wait_ms = 1000 * (cmd == "capture" ? static_cast<int>(args.value("timeout", 30u)) + 15 : 30);
    switch (nfgate::api::call(socket, Json{{"command", cmd}, {"args", args}}, answer, err, wait_ms)) {
        case nfgate::api::CallStatus::unreachable:
            std::cerr << "nfgatectl: nfgate is not reachable at " << socket << " (is it running? --socket PATH): "
                      << err << '\n';
            return kExitUnreachable;
        case nfgate::api::CallStatus::failed:
            std::cerr << "nfgatectl: " << err << '\n';
            return kExitFailed;
        case nfgate::api::CallStatus::ok: break;
    }
    if (!answer.value("ok", false)) {
        if (output == "json") std::cout << answer.dump(2) << '\n';
        std::cerr << "nfgatectl: " << cmd << ": " << answer.value("error", std::string("failed")) << '\n';
        return kExitFailed;
    }
    if (output == "json") std::cout << answer["result"].dump(2) << '\n';
    else nfgate::ctl::print_human(std::cout, cmd, answer["result"]);
    return kExitOk;
}
