// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * The baseline of bench/xdp_gre.ts: an XDP program that passes every packet, so the cost
 * of the keepalive programs can be read next to the cost of running any program at all.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int kad_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
