/**
 * Test support for the guest (tests/vm/guest_gre_keepalive.ts): runs the daemon-side
 * manager (lib/net/gre_manager.ts) for the interfaces named on the command line, as
 * `kad run` will, printing each log message as a line on stdout, until SIGTERM, when it
 * stops (detaching what it attached) and exits 0.
 */
import { GreKeepaliveManager } from "../../lib/net/gre_manager.ts";

const line = (level: string) => (msg: string) => console.log(`${level} ${msg}`);
const manager = new GreKeepaliveManager(
  Deno.args.map((name) => ({ interface: name, mode: "auto", replace: false, force: false })),
  {
    log: { detail: () => {}, info: line("info"), warn: line("warn"), error: line("error") },
    intervalMs: 200,
  },
);
manager.start();
// The manager's own timer does not keep the process alive; this one does, until SIGTERM.
const keepAlive = setInterval(() => {}, 60_000);
Deno.addSignalListener("SIGTERM", () => {
  manager.stop();
  clearInterval(keepAlive);
  console.log("stopped");
  Deno.exit(0);
});
