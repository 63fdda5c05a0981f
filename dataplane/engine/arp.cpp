#include "dataplane/engine/arp.hpp"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

namespace nfgate::engine {

namespace {

constexpr uint16_t kFrameLen = sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr);

void fill_arp(rte_mbuf* m, const IfaceInfo& iface, uint32_t sender_ip, uint32_t target_ip, uint16_t op,
              const rte_ether_addr& eth_dst, const rte_ether_addr& target_mac) {
    if (m->next != nullptr) {
        rte_pktmbuf_free(m->next);
        m->next = nullptr;
    }
    rte_pktmbuf_reset(m);
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kFrameLen));
    eth->dst_addr = eth_dst;
    eth->src_addr = iface.mac;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    arp->arp_data.arp_sha = iface.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(sender_ip);
    arp->arp_data.arp_tha = target_mac;
    arp->arp_data.arp_tip = rte_cpu_to_be_32(target_ip);
}

constexpr rte_ether_addr kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
constexpr rte_ether_addr kZeroMac{{0, 0, 0, 0, 0, 0}};

}  // namespace

Reason handle_arp(const ServiceTable& st, NeighbourTable& neighbours, rte_mbuf* m, uint16_t in_port, uint32_t now_s,
                  bool& not_learnt) {
    if (m->data_len < kFrameLen || in_port >= st.ifaces().size()) return Reason::arp_malformed;
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != RTE_ETHER_ADDR_LEN ||
        arp->arp_plen != 4)
        return Reason::arp_malformed;
    const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
    if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) return Reason::arp_malformed;

    const IfaceInfo& iface = st.ifaces()[in_port];
    const uint32_t sip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
    const uint32_t tip = rte_be_to_cpu_32(arp->arp_data.arp_tip);
    const Cidr link = IfAddr{iface.ip, iface.prefix_len}.subnet();

    // RFC 826: a sender talking to us (asking for one of our addresses, or answering our
    // request) is added; any other sender on the link (gratuitous ARP, requests between other
    // hosts) only refreshes an entry we already hold.
    const bool sender_ok = sip != 0 && link.contains(sip) && sip != iface.ip;
    const bool to_us = op == RTE_ARP_OP_REPLY ? tip == iface.ip : st.answers_arp(in_port, tip);
    if (sender_ok && to_us) not_learnt = !neighbours.learn(sip, arp->arp_data.arp_sha, in_port, now_s);
    else if (sender_ok) neighbours.refresh(sip, arp->arp_data.arp_sha, now_s);

    if (op == RTE_ARP_OP_REPLY) return Reason::arp_learned;
    if (!to_us) return Reason::arp_not_for_us;

    const rte_ether_addr requester = arp->arp_data.arp_sha;
    fill_arp(m, iface, tip, sip, RTE_ARP_OP_REPLY, requester, requester);
    return Reason::arp_reply_sent;
}

void build_arp_request(rte_mbuf* m, const IfaceInfo& iface, uint32_t target_ip) {
    fill_arp(m, iface, iface.ip, target_ip, RTE_ARP_OP_REQUEST, kBroadcast, kZeroMac);
}

void build_garp(rte_mbuf* m, const IfaceInfo& iface, uint32_t addr) {
    const uint32_t announced = addr != 0 ? addr : iface.ip;
    fill_arp(m, iface, announced, announced, RTE_ARP_OP_REQUEST, kBroadcast, kZeroMac);
}

}  // namespace nfgate::engine
