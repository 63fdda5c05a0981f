#include "nft/owner_lock.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nfgate::nft {

OwnerLock::~OwnerLock() {
    if (fd_ >= 0) ::close(fd_);
}

bool OwnerLock::acquire(std::string& err, const std::string& dir) {
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) != 0) {
        err = std::string("kernel path: cannot identify the network namespace: ") + std::strerror(errno);
        return false;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const std::string path = dir + "/kernel-path-netns-" + std::to_string(ns.st_ino) + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err = "kernel path: cannot open " + path + ": " + std::strerror(errno);
        return false;
    }
    // fcntl record locks name their holder (F_GETLK), which flock cannot.
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) != 0) {
        struct flock who {};
        who.l_type = F_WRLCK;
        who.l_whence = SEEK_SET;
        const bool known = ::fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK;
        err = "kernel path: another nfgate" + (known ? " (pid " + std::to_string(who.l_pid) + ")" : std::string()) +
              " already manages table ip nfgate in this network namespace (" + path +
              "); stop it first: two writers of one table diverge";
        ::close(fd);
        return false;
    }
    fd_ = fd;
    return true;
}

}  // namespace nfgate::nft
