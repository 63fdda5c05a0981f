// One nfgate owns the kernel path of a network namespace. Two daemons writing the same table
// diverge (each diffs against what it applied itself), so the second is refused at start: an
// exclusive flock on a file named after the namespace (its /proc/self/ns/net inode), released
// by the kernel when the owner exits, however it exits.
#pragma once

#include <string>

namespace nfgate::nft {

class OwnerLock {
public:
    OwnerLock() = default;
    ~OwnerLock();
    OwnerLock(const OwnerLock&) = delete;
    OwnerLock& operator=(const OwnerLock&) = delete;

    // Takes the lock for the calling thread's network namespace, in `dir` (created if missing).
    // False with err naming the holder when another process has it.
    bool acquire(std::string& err, const std::string& dir = "/run/nfgate");

private:
    int fd_ = -1;
};

}  // namespace nfgate::nft
