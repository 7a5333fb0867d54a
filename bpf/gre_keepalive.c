// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * kad's GRE keepalive responder: XDP programs for the tunnel device of a point-to-point
 * gre (kad_gre) or ip6gre (kad_gre6) tunnel (docs/gre-attach.md).
 *
 * What the program sees. On a gre/ip6gre device with a fixed remote address the kernel runs
 * XDP (generic mode; these drivers have no native XDP) after decapsulation: the data starts
 * at the inner IP header, the outer IP and GRE headers are gone. A keepalive (Cisco style) is
 * a GRE packet whose payload is an IP packet addressed back to the sender:
 *
 *   outer IP (peer -> us) | GRE proto 0x0800/0x86dd | inner IP (us -> peer) | GRE proto 0
 *
 * so what arrives here is "inner IP (us -> peer) | GRE". The inner source and destination
 * mirror the outer destination and source, which on a point-to-point tunnel are the
 * tunnel's own local and remote addresses: kad writes those into the `config` map.
 *
 * The reply. XDP_TX on a tunnel device hands the packet to the tunnel's transmit path, which
 * encapsulates it again with the tunnel's parameters and sends it to the remote. The inner
 * packet already is the reply the peer waits for (a GRE packet from us to it), so it is
 * returned unchanged: the peer decapsulates it and receives its keepalive answer.
 *
 * Formats accepted (RFC 2784, RFC 2890 for the key and sequence number fields):
 *   kad_gre:  inner IPv4 without options, not fragmented, protocol 47, header checksum valid,
 *             source == tunnel local, destination == tunnel remote, GRE version 0 without
 *             the routing bit, protocol type 0.
 *   kad_gre6: inner IPv6 with next header 47, same address rule, GRE version 0, protocol type 0
 *             (the usual form) or 0x86dd (the form RouterOS sends over ip6gre).
 * Everything else returns XDP_PASS with the packet untouched. Every access is checked
 * against data_end. Counters (per CPU; each packet moves one): replied, passed, and
 * malformed (a packet that claims the family's IP version but whose IP or GRE header is
 * truncated or inconsistent, or a would-be keepalive with a wrong IPv4 header checksum;
 * also passed). The checks run in the order of the code below, which the reference
 * classifier in lib/net/gre_keepalive.ts follows. The program never writes to the packet.
 */
#include <linux/bpf.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IPPROTO_GRE_NUM 47
#define ETH_P_IPV6_NUM 0x86dd

#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define GRE_BASE_HLEN 4

/* The first 16 bits of a GRE header (RFC 2784 §2, RFC 2890 §2). */
#define GRE_F_CSUM 0x8000   /* C: checksum and reserved1 follow (4 bytes) */
#define GRE_F_ROUTING 0x4000 /* R (RFC 1701): not used by keepalives */
#define GRE_F_KEY 0x2000    /* K: key follows (4 bytes) */
#define GRE_F_SEQ 0x1000    /* S: sequence number follows (4 bytes) */
#define GRE_F_OTHER 0x0ff8  /* strict source route, recursion control, flags: must be 0 */
#define GRE_VERSION 0x0007  /* 0 for GRE; 1 is the PPTP variant */

/* config.flags */
#define KAD_CFG_READY 1u    /* the entry was written by kad; without it nothing is answered */
#define KAD_CFG_LOCAL 2u    /* local is an address (not a wildcard tunnel source) */

/* Verdicts of the parsers. */
enum verdict { V_PASS = 0, V_REPLY = 1, V_MALFORMED = 2 };

/* The tunnel endpoints as they appear in the packet (network byte order); IPv4 uses the
 * first word. flags and ifindex are in host byte order. */
struct kad_gre_config {
	__u32 local[4];
	__u32 remote[4];
	__u32 flags;
	__u32 ifindex;
};

struct kad_gre_counters {
	__u64 replied;
	__u64 passed;
	__u64 malformed;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kad_gre_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kad_gre_counters);
} counters SEC(".maps");

/* Length of the GRE header starting at p (verified to hold 4 bytes), or 0 if it is not a
 * plain GRE version 0 header (routing present, reserved bits set, other version). */
static __always_inline __u32 gre_header_len(const __u8 *p)
{
	__u16 flags = bpf_ntohs(*(const __u16 *)p);

	if (flags & (GRE_F_ROUTING | GRE_F_OTHER | GRE_VERSION))
		return 0;
	return GRE_BASE_HLEN + ((flags & GRE_F_CSUM) ? 4 : 0) + ((flags & GRE_F_KEY) ? 4 : 0) +
	       ((flags & GRE_F_SEQ) ? 4 : 0);
}

static __always_inline __u16 gre_protocol(const __u8 *p)
{
	return bpf_ntohs(*(const __u16 *)(p + 2));
}

/* The 20-byte IPv4 header at h is intact when the one's complement sum of its words
 * (checksum included) folds to 0xffff (RFC 791, RFC 1071). The sum can be taken over 32-bit
 * words and in either byte order, so the five words are added as loaded. */
static __always_inline int ipv4_header_checksum_ok(const __u32 *h)
{
	__u64 sum = (__u64)h[0] + h[1] + h[2] + h[3] + h[4];

	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* A big-endian 16-bit field as a number the verifier knows is below 65536. The 6.1
 * verifier loses that bound across the byte swap, and the compiler would drop a plain
 * mask as redundant: the empty asm hides the value from the compiler so the mask stays. */
static __always_inline __u32 be16_at(const __u8 *p)
{
	__u32 v = bpf_ntohs(*(const __u16 *)p);

	asm volatile("" : "+r"(v));
	return v & 0xffff;
}

static __always_inline __u32 load32(const __u8 *p)
{
	return *(const __u32 *)p;
}

/* The 16 bytes at p equal the address in w (four words as stored in the packet). */
static __always_inline int same16(const __u8 *p, const __u32 *w)
{
	return ((load32(p) ^ w[0]) | (load32(p + 4) ^ w[1]) | (load32(p + 8) ^ w[2]) |
		(load32(p + 12) ^ w[3])) == 0;
}

static __always_inline enum verdict classify_ipv4(const __u8 *p, const __u8 *end,
						  const struct kad_gre_config *cfg)
{
	if (p + 1 > end || (p[0] >> 4) != 4)
		return V_PASS; /* empty, or not IPv4 (another payload of the tunnel) */
	if (p + IPV4_HLEN > end)
		return V_MALFORMED;
	__u8 ihl = p[0] & 0x0f;
	if (ihl < 5)
		return V_MALFORMED;
	if (ihl > 5)
		return V_PASS; /* options: a keepalive has none */
	__u32 tot_len = be16_at(p + 2);
	if (tot_len < IPV4_HLEN || p + tot_len > end)
		return V_MALFORMED;
	if (be16_at(p + 6) & 0x3fff)
		return V_PASS; /* a fragment (MF set or offset not 0) */
	if (p[9] != IPPROTO_GRE_NUM)
		return V_PASS;
	if (!(cfg->flags & KAD_CFG_READY) || load32(p + 16) != cfg->remote[0])
		return V_PASS;
	if ((cfg->flags & KAD_CFG_LOCAL) && load32(p + 12) != cfg->local[0])
		return V_PASS;

	const __u8 *g = p + IPV4_HLEN;
	if (tot_len < IPV4_HLEN + GRE_BASE_HLEN || g + GRE_BASE_HLEN > end)
		return V_MALFORMED;
	__u32 glen = gre_header_len(g);
	if (glen == 0)
		return V_PASS;
	if (IPV4_HLEN + glen > tot_len)
		return V_MALFORMED;
	if (gre_protocol(g) != 0)
		return V_PASS;
	/* Last, as the costliest check: only a would-be keepalive pays for it. */
	if (!ipv4_header_checksum_ok((const __u32 *)p))
		return V_MALFORMED;
	return V_REPLY;
}

static __always_inline enum verdict classify_ipv6(const __u8 *p, const __u8 *end,
						  const struct kad_gre_config *cfg)
{
	if (p + 1 > end || (p[0] >> 4) != 6)
		return V_PASS;
	if (p + IPV6_HLEN > end)
		return V_MALFORMED;
	__u32 payload_len = be16_at(p + 4);
	if (p + IPV6_HLEN + payload_len > end)
		return V_MALFORMED;
	if (p[6] != IPPROTO_GRE_NUM)
		return V_PASS; /* other next header, or extension headers: not a keepalive */
	if (!(cfg->flags & KAD_CFG_READY) || !same16(p + 24, cfg->remote))
		return V_PASS;
	if ((cfg->flags & KAD_CFG_LOCAL) && !same16(p + 8, cfg->local))
		return V_PASS;

	const __u8 *g = p + IPV6_HLEN;
	if (payload_len < GRE_BASE_HLEN || g + GRE_BASE_HLEN > end)
		return V_MALFORMED;
	__u32 glen = gre_header_len(g);
	if (glen == 0)
		return V_PASS;
	if (glen > payload_len)
		return V_MALFORMED;
	__u16 proto = gre_protocol(g);
	return (proto == 0 || proto == ETH_P_IPV6_NUM) ? V_REPLY : V_PASS;
}

static __always_inline int finish(enum verdict v)
{
	__u32 zero = 0;
	struct kad_gre_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c) {
		if (v == V_REPLY)
			c->replied++;
		else if (v == V_MALFORMED)
			c->malformed++;
		else
			c->passed++;
	}
	return v == V_REPLY ? XDP_TX : XDP_PASS;
}

SEC("xdp")
int kad_gre(struct xdp_md *ctx)
{
	const __u8 *p = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 zero = 0;
	const struct kad_gre_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (!cfg)
		return finish(V_PASS);
	return finish(classify_ipv4(p, end, cfg));
}

SEC("xdp")
int kad_gre6(struct xdp_md *ctx)
{
	const __u8 *p = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 zero = 0;
	const struct kad_gre_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (!cfg)
		return finish(V_PASS);
	return finish(classify_ipv6(p, end, cfg));
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
