/**
 * A process whose event loop is busy in 100 ms slices, as an app serving 50 connections on a loaded
 * machine can be, and which exits 0 once it has handled SIGTERM. process.test.ts runs it to show
 * that the harness's signal reaches the app on every runtime, however long the app takes to notice.
 */
process.on("SIGTERM", () => {
  console.log(JSON.stringify({ message: "SIGTERM handled" }));
  process.exit(0);
});
console.log(JSON.stringify({ message: "listening", port: 0 }));
setInterval(() => {
  const end = Date.now() + 100;
  while (Date.now() < end);
}, 1);
