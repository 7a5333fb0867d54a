/**
 * The `gre_keepalive IFACE { … }` blocks: kad's own extension (keepalived has no such
 * keyword; docs/gre-attach.md). Each block names a gre or ip6gre tunnel device on which
 * `kad run` answers GRE keepalives with kad's XDP program: attached on start, attached again
 * when the device reappears, detached on exit (lib/net/gre_manager.ts does that).
 *
 *   gre_keepalive gre1 {
 *       mode auto|generic|native   # XDP mode; default auto (native if the driver has it)
 *       replace                    # replace an XDP program that is not kad's
 *       force                      # attach to a device that is not a gre/ip6gre tunnel
 *       program gre|gre6           # with force: the program to attach (default gre)
 *   }
 *
 * Owns the keywords, their defaults and the per-block rules; it must not touch the system
 * (the interface check against this host is `checkGreInterfaces`, run by check-config's
 * host checks).
 */
import {
  blocks,
  defineBlock,
  type InferSchema,
  optional,
  type ValidateContext,
  value,
} from "../schema.ts";
import { flag, ifname, oneOf } from "../types.ts";
import { DiagClass, type DiagnosticSink } from "../diagnostic.ts";

export const greKeepaliveBlock = defineBlock({
  name: "gre_keepalive",
  fields: {
    mode: value(oneOf(["auto", "generic", "native"] as const), "auto", {
      doc: "XDP mode: auto (native if the driver has it, else generic), generic or native",
    }),
    replace: value(flag, false, { doc: "replace an XDP program on the device that is not kad's" }),
    force: value(flag, false, {
      doc: "attach even if the device is not a point-to-point gre/ip6gre tunnel",
    }),
    program: optional(oneOf(["gre", "gre6"] as const), {
      doc: "with force: the program to attach (gre: inner IPv4, gre6: inner IPv6; default gre)",
    }),
  },
});

export type GreKeepaliveBlock = InferSchema<typeof greKeepaliveBlock> & { header: string };

/** The top-level fields this module adds to the root schema. */
export const greRootFields = {
  gre_keepalive: blocks(greKeepaliveBlock, ifname, {
    unique: true,
    doc: "answer GRE keepalives on this gre/ip6gre tunnel device with kad's XDP program",
  }),
};

/** Cross-keyword rules of the `gre_keepalive` blocks. */
export function validateGre(
  cfg: { gre_keepalive: GreKeepaliveBlock[] },
  ctx: ValidateContext,
): void {
  for (const b of cfg.gre_keepalive) {
    if (b.program !== undefined && !b.force) {
      ctx.sink.warn(
        `gre_keepalive ${b.header}: 'program ${b.program}' only applies with 'force'; the program follows the device type`,
        ctx.at(b, "program"),
        "program",
      );
      b.program = undefined;
    }
  }
}

/**
 * Warn about `gre_keepalive` interfaces missing on this host (a warning: `kad run` attaches
 * when the device appears).
 */
export function checkGreInterfaces(
  cfg: { gre_keepalive: readonly GreKeepaliveBlock[] },
  interfaces: ReadonlySet<string>,
  sink: DiagnosticSink,
): void {
  for (const b of cfg.gre_keepalive) {
    if (interfaces.has(b.header)) continue;
    sink.report(
      DiagClass.WARNING,
      `gre_keepalive interface '${b.header}' does not exist on this host; kad run attaches when it appears`,
      b.$at,
      "gre_keepalive",
    );
  }
}
