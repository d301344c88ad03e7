// Prints the isolate id of the Worker that `wrangler dev` runs, asked through
// wrangler's DevTools inspector proxy (Runtime.getIsolateId). `cargo xtask test`
// compares it before and after fuzzing: a new id means the isolate was replaced.
//
// Usage: node xtask/edge/isolate-id.mjs <inspector-port>   (Node 22: a global WebSocket)
const port = process.argv[2];
if (!port) {
  console.error("usage: node xtask/edge/isolate-id.mjs <inspector-port>");
  process.exit(2);
}
// The inspector proxy refuses browsers' cross-site origins; a local one is allowed.
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: "http://localhost" } });
const fail = (why) => {
  console.error(`isolate-id: ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("no answer within 10 s"), 10_000);
ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "Runtime.getIsolateId" }));
ws.onerror = (e) => fail(e.message ?? "WebSocket error");
ws.onmessage = (message) => {
  const reply = JSON.parse(message.data);
  if (reply.id !== 1) return;
  clearTimeout(timer);
  if (!reply.result?.id) fail(`unexpected reply ${message.data}`);
  console.log(reply.result.id);
  // Exit at once: a closing handshake through the proxy can take long.
  process.exit(0);
};
