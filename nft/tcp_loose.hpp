// net.netfilter.nf_conntrack_tcp_loose of the daemon's network namespace. The SYN proxy needs it
// at 0: with the default 1 conntrack picks up the client's cookie-carrying ACK as a connection in
// mid-stream, so it is never invalid, never reaches the proxy, and is sent on to the endpoint,
// which resets it. The value found is put back when the proxy goes off.
//
// While it is held at 0 the value found is also noted in a file of the runtime directory named
// after the network namespace (/run/nfgate/tcp-loose.<netns inode>): a daemon killed while holding
// it cannot put it back, so the next start in that namespace (and --cleanup) does, from the note.
#pragma once

#include <optional>
#include <string>

namespace nfgate::nft {

class TcpLoose {
public:
    // Sets 0, remembering the value found (once: a second call keeps the first value; a note an
    // earlier holder left in this namespace gives the value it found).
    bool hold_strict(std::string& err);
    // Puts back the remembered value, if any, and removes the note.
    bool restore(std::string& err);
    // Not holding: puts back the value an earlier holder in this namespace noted and could not
    // restore (it was killed). True with nothing to do when there is no note.
    bool recover(std::string& err);
    bool holding() const { return saved_.has_value(); }

    // The note's directory (default /run/nfgate): tests point it elsewhere.
    static void set_note_dir(std::string dir);

private:
    std::optional<std::string> saved_;
};

}  // namespace nfgate::nft
