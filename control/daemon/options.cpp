#include "control/daemon/options.hpp"

#include <boost/program_options.hpp>

#include <sstream>

namespace nfgate::daemon {

namespace po = boost::program_options;

bool parse_options(int argc, const char* const argv[], Options& out, std::string& help, std::string& err) {
    po::options_description desc(
        "Usage: nfgate --config FILE [--check | --once] [--dataplane kernel|dpdk]\n"
        "       nfgate --cleanup\n"
        "Runs in the foreground until SIGTERM/SIGINT; SIGHUP reloads FILE. Options");
    std::string dataplane;
    std::string control_socket, metrics_address;
    desc.add_options()
        ("config,c", po::value<std::string>(&out.config)->value_name("FILE"),
         "the gateway file (YAML or JSON); its manifests are read relative to it")
        ("check", "load and validate the configuration, print every error and exit (0: valid)")
        ("once", "kernel path: apply the ruleset once and exit, like `nft -f`")
        ("cleanup", "kernel path: remove everything nfgate installed and exit")
        ("dataplane", po::value<std::string>(&dataplane)->value_name("kernel|dpdk"),
         "use this data path instead of the file's `dataplane`")
        ("control-socket", po::value<std::string>(&control_socket)->value_name("PATH"),
         "serve the control API (nfgatectl) on this UNIX socket instead of the file's control.socket "
         "(default /run/nfgate/nfgate.sock)")
        ("metrics-address", po::value<std::string>(&metrics_address)->value_name("HOST:PORT"),
         "serve Prometheus metrics at http://HOST:PORT/metrics instead of the file's "
         "control.metricsAddress (\"\": off)")
        ("verbose,v", "print notices and timings")
        ("help,h", "print this list and exit");
    std::ostringstream text;
    text << desc
         << "\nSignals: SIGHUP reloads FILE (a rejected reload leaves the running configuration in force);\n"
            "SIGTERM, SIGINT stop; SIGUSR1 logs the fast path's counters.\n"
            "stdout: the status lines \"nfgate: ready\", \"nfgate: reloaded\", \"nfgate: reload rejected: ...\".\n"
            "stderr: one \"nfgate: \" line per event, with a \"<N>\" syslog priority when it is the journal.\n"
            "Under systemd (Type=notify, nfgate.service): READY=1, RELOADING=1, STOPPING=1 and STATUS=.\n"
            "The control API (nfgatectl) is served on the control socket; see README.md.\n";
    help = text.str();

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        err = e.what();
        return false;
    }
    out.verbose = vm.count("verbose") > 0;
    if (vm.count("help")) {
        out.mode = Mode::help;
        return true;
    }
    int modes = static_cast<int>(vm.count("check") + vm.count("once") + vm.count("cleanup"));
    if (modes > 1) {
        err = "--check, --once and --cleanup exclude each other (want at most one)";
        return false;
    }
    out.mode = vm.count("check") ? Mode::check : vm.count("once") ? Mode::once
             : vm.count("cleanup")  ? Mode::cleanup : Mode::run;
    if (!dataplane.empty()) {
        if (dataplane != "kernel" && dataplane != "dpdk") {
            err = "--dataplane " + dataplane + " is not valid (want kernel or dpdk)";
            return false;
        }
        out.dataplane = dataplane == "kernel" ? DataplaneKind::kernel : DataplaneKind::dpdk;
    }
    if (vm.count("control-socket")) {
        if (control_socket.empty() || control_socket.front() != '/') {
            err = "--control-socket " + control_socket + " is not an absolute path (want e.g. /run/nfgate/nfgate.sock)";
            return false;
        }
        out.control_socket = control_socket;
    }
    if (vm.count("metrics-address")) out.metrics_address = metrics_address;
    if (out.mode == Mode::once && out.dataplane == DataplaneKind::dpdk) {
        err = "--once applies the kernel path (want no --dataplane, or --dataplane kernel)";
        return false;
    }
    if (out.mode != Mode::cleanup && out.config.empty()) {
        err = "--config FILE is required (the gateway file)";
        return false;
    }
    return true;
}

}  // namespace nfgate::daemon
