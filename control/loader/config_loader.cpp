#include "control/loader/config_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "control/loader/document_split.hpp"
#include "control/loader/gateway_file.hpp"
#include "control/loader/manifest_objects.hpp"
#include "control/loader/service_assembly.hpp"

namespace nfgate::loader {

namespace fs = std::filesystem;

namespace {

// A whole cluster of 10k Services as YAML is ~20 MB; a file beyond this is a mistake (or a
// device), not a configuration, and is refused before it is read into memory.
constexpr std::streamoff kMaxFileBytes = std::streamoff{256} << 20;

bool read_file(const std::string& path, std::string& out, std::string& err) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = std::strerror(errno);
        return false;
    }
    in.seekg(0, std::ios::end);
    auto size = in.tellg();
    if (size > kMaxFileBytes) {
        err = "larger than 256 MiB (" + std::to_string(static_cast<long long>(size) >> 20) + " MiB); split it";
        return false;
    }
    in.seekg(0, std::ios::beg);
    out.resize(size > 0 ? static_cast<size_t>(size) : 0);
    if (size > 0 && !in.read(out.data(), size)) {
        err = "read failed";
        return false;
    }
    return true;
}

bool read_text(const std::string& path, std::string& text, std::vector<Diag>& errors) {
    std::string err;
    if (read_file(path, text, err)) return true;
    errors.push_back(Diag{path, 0, "", "", "cannot read: " + err});
    return false;
}

Diag malformed(const std::string& path, int line, const std::string& err) {
    return Diag{path, line, "", "", "malformed YAML: " + err};
}

// False when `tree` writes a key twice in one mapping (every such key reported).
bool no_duplicate_keys(const YamlTree& tree, const std::string& path, std::vector<Diag>& errors) {
    const auto dups = tree.duplicate_keys();
    for (const auto& d : dups)
        errors.push_back(Diag{path, d.line, "", d.key,
                              "duplicate key \"" + d.key + "\" (first at line " + std::to_string(d.first_line) +
                                  "; a key may appear once per mapping)"});
    return dups.empty();
}

bool is_manifest_name(const fs::path& p) {
    auto ext = p.extension().string();
    return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// A manifest entry names a file or a directory (its *.yaml, *.yml and *.json, sorted).
std::vector<std::string> expand_manifests(const std::string& gateway_path, const std::vector<ManifestRef>& refs,
                                          std::vector<Diag>& errors) {
    fs::path base = fs::path(gateway_path).parent_path();
    std::vector<std::string> files;
    for (const auto& ref : refs) {
        fs::path p = fs::path(ref.path).is_absolute() ? fs::path(ref.path) : (base / ref.path).lexically_normal();
        std::error_code ec;
        std::string field = "manifests[" + std::to_string(ref.index) + "]";
        if (fs::is_directory(p, ec)) {
            std::vector<std::string> found;
            for (const auto& entry : fs::directory_iterator(p, ec)) {
                if (!is_manifest_name(entry.path())) continue;
                // The error_code forms throughout: a symlink loop or a dangling link is an error
                // to report, never an exception that ends the daemon.
                std::error_code link_ec, file_ec;
                const bool link = entry.is_symlink(link_ec);
                const bool regular = entry.is_regular_file(file_ec);
                if (regular && !file_ec) {
                    found.push_back(entry.path().string());
                } else if (link || file_ec) {
                    const std::error_code& why = file_ec ? file_ec : link_ec;
                    errors.push_back(Diag{gateway_path, ref.line, "manifests", field,
                                          entry.path().string() + " is a symbolic link that leads nowhere (" +
                                              (why ? why.message() : "no such file") +
                                              "): fix or remove it"});
                }
            }
            if (ec) {
                errors.push_back(Diag{gateway_path, ref.line, "manifests", field,
                                      "cannot list directory " + p.string() + ": " + ec.message()});
                continue;
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::is_regular_file(p, ec)) {
            files.push_back(p.string());
        } else {
            errors.push_back(Diag{gateway_path, ref.line, "manifests", field,
                                  "\"" + ref.path + "\" does not exist (looked for " + p.string() +
                                      "; want a file or directory, relative to the gateway file)"});
        }
    }
    return files;
}

}  // namespace

LoadResult load_config(const std::string& gateway_file_path) { return load_config(gateway_file_path, {}); }

namespace {

void read_everything(const std::string& gateway_file_path, const LoadOptions& options, LoadedSources& res) {
    Model& m = res.gateway;
    YamlTree tree;
    std::string text, err;
    int line = 0;
    if (!read_text(gateway_file_path, text, res.errors)) return;
    if (!tree.parse(text, err, line)) {
        res.errors.push_back(malformed(gateway_file_path, line, err));
        return;
    }
    if (!no_duplicate_keys(tree, gateway_file_path, res.errors)) return;
    if (tree.documents().size() != 1) {
        res.errors.push_back(Diag{gateway_file_path, 1, "gateway", "",
                                  "want exactly one YAML document, found " + std::to_string(tree.documents().size())});
        return;
    }
    Reporter r(gateway_file_path, res.errors, res.notices);
    std::vector<ManifestRef> refs;
    read_gateway_file(r, tree.document(0), options.dataplane, m, refs);

    std::vector<YamlTree> pieces;
    for (const auto& file : expand_manifests(gateway_file_path, refs, res.errors)) {
        if (!read_text(file, text, res.errors)) continue;
        if (!parse_in_pieces(text, pieces, err, line)) {
            res.errors.push_back(malformed(file, line, err));
            continue;
        }
        size_t document = 0;
        for (const auto& piece : pieces) {
            if (!no_duplicate_keys(piece, file, res.errors)) {
                document += piece.documents().size();
                continue;
            }
            read_manifest_documents(piece, document, file, res.errors, res.notices, m, res.objects);
            document += piece.documents().size();
        }
    }
}

}  // namespace

LoadedSources load_sources(const std::string& gateway_file_path, const LoadOptions& options) {
    // The last line of defence: whatever a library throws (filesystem, allocation) becomes an
    // error of this load, so a --check reports it and a running daemon keeps its configuration.
    LoadedSources res;
    try {
        read_everything(gateway_file_path, options, res);
    } catch (const std::exception& e) {
        res = LoadedSources{};
        res.errors.push_back(Diag{gateway_file_path, 0, "", "", std::string("cannot load: ") + e.what()});
    }
    return res;
}

LoadResult assemble(const LoadedSources& sources) { return assemble(LoadedSources(sources)); }

LoadResult assemble(LoadedSources&& sources) {
    LoadResult res;
    res.errors = std::move(sources.errors);
    res.notices = std::move(sources.notices);
    if (!res.errors.empty()) return res;
    try {
        Model m = std::move(sources.gateway);
        assemble_services(sources.objects, res.errors, res.notices, m);
        if (res.ok()) res.model = std::move(m);
    } catch (const std::exception& e) {
        res.errors.push_back(Diag{"", 0, "", "", std::string("cannot assemble: ") + e.what()});
    }
    return res;
}

LoadResult load_config(const std::string& gateway_file_path, const LoadOptions& options) {
    return assemble(load_sources(gateway_file_path, options));
}

}  // namespace nfgate::loader
