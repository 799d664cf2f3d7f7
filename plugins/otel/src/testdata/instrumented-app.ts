// A real app for instrumentation.test.ts: OpenTelemetry's own instrumentation of node:http is
// enabled before anything loads `http`, as its documentation asks. On Bun (and Deno) it patches the
// module only when it is loaded with require(), not with import (no import-in-the-middle loader), so
// the handler requires it. Once ready, the app serves one request through its own stack; the handler
// calls DOWNSTREAM_URL with the instrumented http.get and answers with what came back. Then it
// prints "called" and waits for SIGTERM, which flushes the spans to OTEL_EXPORTER_OTLP_ENDPOINT.
import { createRequire } from "node:module";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { HttpApp, http } from "@twelvefold/http";
import { createApp, definePlugin, env, HttpHandler } from "@twelvefold/kernel";
import * as v from "valibot";
import { otel } from "../../mod.ts";

const instrumentation = new HttpInstrumentation();
const nodeHttp = createRequire(import.meta.url)("node:http") as typeof import("node:http");

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    nodeHttp
      .get(url, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
}

const caller = definePlugin({
  name: "caller",
  config: { DOWNSTREAM_URL: env.url(), INCOMING_TRACEPARENT: v.optional(env.string()) },
  requires: [HttpApp, HttpHandler],
  start({ config, get: service, logger, lifecycle }) {
    service(HttpApp).get("/call", async (c) => c.text(await get(config.DOWNSTREAM_URL)));
    const handler = service(HttpHandler);
    const once = async () => {
      if (!lifecycle.ready) return void setTimeout(once, 5);
      const headers = config.INCOMING_TRACEPARENT ? { traceparent: config.INCOMING_TRACEPARENT } : undefined;
      const response = await handler.fetch(new Request("http://local/call", { headers }));
      logger.info("called", { status: response.status, downstream_saw: await response.text() });
    };
    setTimeout(once, 0);
  },
});

await createApp({ name: "instrumented-app", plugins: [otel(), http(), caller] }).run();
instrumentation.disable();
