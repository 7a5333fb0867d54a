/**
 * A small schema with every field kind, standing in for the real keyword schemas in the
 * printer and TOML tests (tests/config/print_test.ts, toml_test.ts). Each test builds its
 * vrrp_instance from these fields plus the kinds it exercises on its own. Owns no product
 * logic.
 */
import {
  type AnyField,
  block,
  blocks,
  type BlockSchema,
  defineBlock,
  list,
  multi,
  optional,
  value,
  type ValueType,
} from "../../lib/config/schema.ts";
import {
  blockName,
  flag,
  int,
  oneOf,
  script,
  seconds,
  text,
  word,
  wordList,
} from "../../lib/config/types.ts";

/** A block header of no words. */
const noHeader: ValueType<null> = {
  toml: "words",
  describe: "no header",
  parse: () => null,
  print: () => [],
};

const auth = defineBlock({
  name: "authentication",
  fields: {
    auth_type: optional(oneOf(["PASS", "AH"])),
    auth_pass: optional(word({ maxLen: 8 }), { secret: true }),
  },
});

const check = defineBlock({
  name: "TCP_CHECK",
  fields: { connect_timeout: value(seconds(0, 100), 5_000_000), retry: optional(int(0, 10)) },
});

const server = defineBlock({
  name: "real_server",
  fields: { weight: value(int(0, 100), 1), TCP_CHECK: blocks(check, noHeader) },
});

/** The vrrp_instance fields, in order; `smtpAlert` is the type the test exercises there. */
export function toyInstanceFields<B>(smtpAlert: ValueType<B>) {
  return {
    state: optional(oneOf(["MASTER", "BACKUP"])),
    priority: value(int(1, 255), 100),
    advert_int: value(seconds(0.01, 255), 1_000_000),
    nopreempt: optional(flag),
    smtp_alert: optional(smtpAlert),
    notify_master: optional(script),
    track: multi(wordList()),
    virtual_ipaddress: list(wordList("address")),
    authentication: block(auth),
  };
}

/** The top level around `instance`: router_id, group, vrrp_instance and real_server. */
export function toyRoot<F extends Record<string, AnyField>>(instance: BlockSchema<F>) {
  return defineBlock({
    name: "the top level",
    fields: {
      router_id: optional(text()),
      group: list(word(), { perToken: true }),
      vrrp_instance: blocks(instance, blockName, { unique: true }),
      real_server: blocks(server, wordList("address and port", 2)),
    },
  });
}
