/**
 * Preload for a traced bundle (see trace.ts): `TWELVEFOLD_TRACE_FILE=out.json bun --preload
 * build/trace-preload.ts <traced>/web.js` writes the modules the bundle evaluated to out.json at exit.
 */
import { writeFileSync } from "node:fs";
import { traceRecorder } from "./trace.ts";

const file = Bun.env.TWELVEFOLD_TRACE_FILE;
if (!file) throw new Error("trace: set TWELVEFOLD_TRACE_FILE to the file the module list goes to");
const recorder = traceRecorder();
process.on("exit", () => writeFileSync(file, JSON.stringify(recorder.report())));
