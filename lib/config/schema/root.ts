/**
 * The whole configuration: the top-level keywords of keepalived.conf (spec/vrrp.md §4.3,
 * spec/lvs.md §1–2, §6.1), assembled from the per-area schemas. The model type `KadConfig`
 * is derived from this schema, so the parser, the printers, the TOML reader and the
 * daemon all agree on one definition.
 */
import { block, defineBlock, type InferSchema } from "../schema.ts";
import { globalDefs } from "./global.ts";
import { validateVrrp, vrrpRootFields } from "./vrrp.ts";
import { lvsRootFields, validateLvs } from "./lvs.ts";
import { bfdRootFields, validateBfd } from "./bfd.ts";
import { greRootFields, validateGre } from "./gre.ts";

export const rootSchema = defineBlock({
  name: "the top level",
  fields: {
    global_defs: block(globalDefs, { doc: "global definitions" }),
    // BFD instances before VRRP ones: printed configurations must define what
    // track_bfd refers to before it is used (keepalived resolves names while parsing).
    ...bfdRootFields,
    ...vrrpRootFields,
    ...lvsRootFields,
    ...greRootFields,
  },
  aliases: { vrrp_track_file: "deprecated:track_file" },
  validate(cfg, ctx) {
    // BFD first: track_bfd must not accept an instance the BFD checks remove.
    validateBfd(cfg, ctx);
    validateVrrp(cfg, ctx);
    validateLvs(cfg, ctx);
    validateGre(cfg, ctx);
  },
});

/** The typed configuration model. */
export type KadConfig = InferSchema<typeof rootSchema>;
