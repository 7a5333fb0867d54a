/**
 * Test entry point: `kad gre-attach` on a command line of its own (with kad's `-D` global
 * option), so tests can run the command as a process inside a network namespace,
 * independently of the rest of main.ts: `deno run -A tests/net/_gre_cli.ts gre-attach …`.
 */
import { Command } from "@commander-js/extra-typings";
import { registerGreAttach } from "../../commands/gre_attach.ts";

let code = 0;
const program = new Command().name("kad").option("-D, --log-detail", "detailed logging");
registerGreAttach(program, (c) => (code = c));
await program.parseAsync(Deno.args, { from: "user" });
Deno.exit(code);
