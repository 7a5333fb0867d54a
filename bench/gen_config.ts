/**
 * Generate the benchmark configuration: `vs` virtual servers × `rs` real servers (mixed
 * TCP_CHECK / HTTP_GET / MISC_CHECK checkers) plus `vrrp` VRRP instances, in
 * keepalived.conf syntax that both kad and keepalived accept.
 */
export function generateConfig(vs = 1000, rs = 10, vrrp = 255, iface = "eth0"): string {
  const out: string[] = [];
  out.push(
    "global_defs {",
    "    router_id bench",
    "    vrrp_garp_master_delay 1",
    "    enable_script_security",
    "    script_user root",
    "}",
    "",
  );
  for (let i = 1; i <= vrrp; i++) {
    out.push(
      `vrrp_instance VI_${i} {`,
      "    state BACKUP",
      `    interface ${iface}`,
      `    virtual_router_id ${i}`,
      `    priority ${100 + (i % 100)}`,
      "    advert_int 1",
      "    virtual_ipaddress {",
      `        10.${200 + (i >> 8)}.${i & 255}.1/32`,
      `        10.${200 + (i >> 8)}.${i & 255}.2/32`,
      "    }",
      "}",
    );
  }
  for (let v = 0; v < vs; v++) {
    const vip = `10.${10 + (v >> 16)}.${(v >> 8) & 255}.${v & 255}`;
    out.push(
      `virtual_server ${vip} 80 {`,
      "    delay_loop 6",
      "    lb_algo wrr",
      "    lb_kind NAT",
      "    protocol TCP",
    );
    for (let r = 0; r < rs; r++) {
      out.push(
        `    real_server 172.${16 + (v >> 16)}.${(v >> 8) & 255}.${
          (v & 127) * 2 + 1 + (r > 0 ? 0 : 0)
        } ${8000 + r} {`,
      );
      out.push(`        weight ${1 + r}`);
      if (r % 3 === 0) {
        out.push(
          "        TCP_CHECK {",
          "            connect_timeout 3",
          "            retry 2",
          "        }",
        );
      } else if (r % 3 === 1) {
        out.push(
          "        HTTP_GET {",
          "            url {",
          "                path /health",
          "                digest 9b3a0c85a887a256d6939da88aabd8cd",
          "            }",
          "            connect_timeout 3",
          "        }",
        );
      } else {
        out.push("        MISC_CHECK {", '            misc_path "/bin/true"', "        }");
      }
      out.push("    }");
    }
    out.push("}");
  }
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const [vs, rs, vrrp] = Deno.args.map(Number);
  await Deno.stdout.write(
    new TextEncoder().encode(generateConfig(vs || 1000, rs || 10, vrrp || 255)),
  );
}
