#include "nft/netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace nfgate::nft {
namespace {

using SocketPtr = std::unique_ptr<mnl_socket, decltype([](mnl_socket* s) { mnl_socket_close(s); })>;

// The kernel answers every message of the batch at once, before sendmsg returns; nft sizes the
// receive buffer the same way (about 1 KiB of socket memory per acknowledgement).
constexpr size_t kAckBudget = 1024;
constexpr int kMinBuffer = 4 << 20;

void force_buffer(int fd, int opt, size_t want) {
    int v = static_cast<int>(std::min<size_t>(want, 1u << 30));
    v = std::max(v, kMinBuffer);
    setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

std::string describe(const Batch& b, uint32_t seq) {
    uint32_t i = seq - b.first_seq;
    if (i < b.what.size()) {
        const std::string more = b.detail ? b.detail(i) : std::string();
        return more.empty() ? b.what[i] : b.what[i] + ": " + more;
    }
    return "message " + std::to_string(seq);
}

// Reads what is queued; returns false on a receive error. Counts acknowledgements, collects errors.
// Only the first error is the cause; later ones mostly follow from it (a rule naming a set the
// kernel refused), so they are counted, not listed.
struct Errors {
    std::string first;
    uint32_t more = 0;
    void add(std::string e) {
        if (first.empty()) first = std::move(e);
        else ++more;
    }
    std::string text() const {
        if (more == 0) return first;
        return first + " (and " + std::to_string(more) + " later message(s) refused, most likely as a consequence)";
    }
};

// Every acknowledgement is its own datagram: recvmmsg takes up to kBurst of them per system call
// (one recv per ACK costs as much as the kernel's whole work on the batch).
constexpr unsigned kBurst = 1024;
constexpr size_t kAckSlot = 256;  // a capped ACK is 36 bytes; an error with extended ack a bit more

// The socket outlives a batch, so only answers to this batch's sequence numbers count.
void account(const Batch& b, uint32_t portid, const char* data, int len, uint32_t& acks, Errors& errors) {
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
        if (nlh->nlmsg_pid != portid || nlh->nlmsg_type != NLMSG_ERROR) continue;
        if (nlh->nlmsg_seq - b.first_seq > b.what.size()) continue;
        ++acks;
        auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (e->error != 0) errors.add(describe(b, nlh->nlmsg_seq) + ": " + std::strerror(-e->error));
    }
}

// Reads what is queued (all of it is, once sendmsg returned); false on a receive error.
bool drain(mnl_socket* nl, const Batch& b, uint32_t& acks, Errors& errors) {
    std::vector<char> buf(kBurst * kAckSlot);
    std::vector<iovec> iov(kBurst);
    std::vector<mmsghdr> msgs(kBurst);
    int fd = mnl_socket_get_fd(nl);
    uint32_t portid = mnl_socket_get_portid(nl);
    while (acks < b.acks_expected) {
        for (unsigned i = 0; i < kBurst; ++i) {
            iov[i] = {buf.data() + i * kAckSlot, kAckSlot};
            msgs[i] = {};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(fd, msgs.data(), kBurst, MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
            errors.add(std::string("reading nftables acknowledgements: ") + std::strerror(errno));
            return false;
        }
        for (int i = 0; i < n; ++i)
            account(b, portid, buf.data() + i * kAckSlot, static_cast<int>(msgs[i].msg_len), acks, errors);
    }
    return true;
}

BatchClock& clock_of_batches() {
    static BatchClock c;
    return c;
}

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

bool send_on(mnl_socket* nl, const Batch& b, std::string& err) {
    int fd = mnl_socket_get_fd(nl);
    force_buffer(fd, SO_SNDBUFFORCE, b.buf.size() + (64 << 10));
    force_buffer(fd, SO_RCVBUFFORCE, size_t{b.acks_expected} * kAckBudget);
    const uint64_t sent_ns = now_ns();
    // Counted however it ends: a refused batch cost the kernel its work too.
    struct Count {
        uint64_t t0;
        size_t bytes;
        ~Count() {
            BatchClock& c = clock_of_batches();
            ++c.batches;
            c.bytes += bytes;
            c.kernel_ns += now_ns() - t0;
        }
    } count{sent_ns, b.buf.size()};
    if (mnl_socket_sendto(nl, b.buf.data(), b.buf.size()) < 0) {
        err = "sending the nftables batch (" + std::to_string(b.buf.size()) + " bytes): " + std::strerror(errno);
        return false;
    }
    uint32_t acks = 0;
    Errors errors;
    bool read_ok = drain(nl, b, acks, errors);
    if (!errors.first.empty()) {
        err = errors.text();
        return false;
    }
    if (!read_ok || acks != b.acks_expected) {
        err = "nftables acknowledged " + std::to_string(acks) + " of " + std::to_string(b.acks_expected) +
              " messages; the outcome of the batch is unknown";
        return false;
    }
    return true;
}

// One socket for the process, opened on first use: closing a netfilter netlink socket costs the
// kernel 5-20 ms (measured on a 10k-Service table), more than a small batch's whole commit.
// A socket that saw a failure is replaced, so nothing it still holds is read as an answer later.
// A socket belongs to the network namespace it was opened in: after the thread moved to another
// one (unshare, setns) a new socket is opened there.
struct SharedSocket {
    SocketPtr nl;
    ino_t netns = 0;
};

SharedSocket& shared_socket() {
    static SharedSocket s;
    return s;
}

ino_t current_netns() {
    struct stat st {};
    return stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

mnl_socket* open_socket(std::string& err) {
    SharedSocket& shared = shared_socket();
    ino_t netns = current_netns();
    if (shared.nl && netns != 0 && shared.netns == netns) return shared.nl.get();
    shared.netns = netns;
    shared.nl.reset(mnl_socket_open(NETLINK_NETFILTER));
    if (!shared.nl || mnl_socket_bind(shared.nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        err = std::string("opening the nftables netlink socket: ") + std::strerror(errno);
        shared.nl.reset();
        return nullptr;
    }
    // Acknowledgements carry only the header of the message they answer, not all of it.
    int on = 1;
    mnl_socket_setsockopt(shared.nl.get(), NETLINK_CAP_ACK, &on, sizeof on);
    return shared.nl.get();
}

}  // namespace

// Batches go one at a time; the clock is read under the same lock.
static std::mutex& batch_lock() {
    static std::mutex m;
    return m;
}

BatchClock batch_clock() {
    std::lock_guard<std::mutex> lock(batch_lock());
    return clock_of_batches();
}

uint32_t next_batch_seq(uint32_t messages) {
    static std::atomic<uint32_t> next{static_cast<uint32_t>(time(nullptr))};
    return next.fetch_add(messages + 1);
}

bool send_batch(const Batch& b, std::string& err) {
    std::lock_guard<std::mutex> lock(batch_lock());
    mnl_socket* nl = open_socket(err);
    if (!nl) return false;
    if (send_on(nl, b, err)) return true;
    shared_socket().nl.reset();
    return false;
}

int query(const nlmsghdr* request, ReplyCallback cb, void* data, size_t buf_size, std::string& err) {
    SocketPtr nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0 ||
        mnl_socket_sendto(nl.get(), request, request->nlmsg_len) < 0) {
        err = std::string("netlink: ") + std::strerror(errno);
        return -1;
    }
    std::vector<char> buf(buf_size);
    const uint32_t portid = mnl_socket_get_portid(nl.get());
    int ret;
    while ((ret = static_cast<int>(mnl_socket_recvfrom(nl.get(), buf.data(), buf.size()))) > 0) {
        ret = mnl_cb_run(buf.data(), static_cast<size_t>(ret), request->nlmsg_seq, portid, cb, data);
        if (ret <= MNL_CB_STOP) break;
    }
    return ret;
}

}  // namespace nfgate::nft
