import type { Logger, ToolDefinition } from "@twelvefold/kernel";
import { toJsonSchema } from "@valibot/to-json-schema";
import * as v from "valibot";
import { llmErrors } from "./errors.ts";

/** What a tool's `run` gets besides its validated input. */
export interface ToolContext {
  /** Aborts when the run is cancelled or the tool's time is up: pass it to fetch and database calls. */
  readonly signal: AbortSignal;
  /** The call's id, stable across retries and resumes of the same run. */
  readonly callId: string;
  /**
   * For tools that declare `sideEffects`: the same key every time this call is attempted, in
   * this run or a retry or resume of it. Hand it to the system the effect lands in (an insert's
   * unique key, a payment API's Idempotency-Key) so even a crash between the effect and its
   * record cannot repeat it.
   */
  readonly idempotencyKey: string | undefined;
  /** The run's id. */
  readonly runId: string;
  readonly logger: Logger | undefined;
}

/** The definition given to {@link defineTool}. */
export interface ToolSpec<S extends v.GenericSchema> {
  /** What the model calls it: letters, digits, `_` and `-`, at most 64 characters. */
  readonly name: string;
  /** What it does and when to use it, for the model. */
  readonly description: string;
  /** The arguments, as a valibot schema; the model sees it as JSON Schema. */
  readonly input: S;
  /** Does the work; its result goes back to the model (strings as they are, anything else as JSON). */
  run(input: v.InferOutput<S>, context: ToolContext): unknown | Promise<unknown>;
  /**
   * It changes something outside (writes a row, sends a mail): it gets an idempotency key, and
   * its completed result is recorded so a retried or resumed run reuses it instead of running it again.
   */
  readonly sideEffects?: boolean;
  /** Its own time budget in ms, over the agent's default (LLM_TOOL_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** A tool, ready for {@link runAgent}: its spec and what the model is shown. */
export interface Tool<S extends v.GenericSchema = v.GenericSchema> extends ToolSpec<S> {
  /** Name, description and JSON Schema, as a ChatRequest's `tools` takes them. */
  readonly definition: ToolDefinition;
}

/** A tool of any input type, for lists of tools (`run` is a method, so any tool's fits here). */
export type AnyTool = Tool<v.GenericSchema>;

/**
 * Defines a tool for the agent loop. `input` is a valibot schema: the JSON Schema the model sees
 * is derived from it (@valibot/to-json-schema), and the model's arguments are checked against it
 * before `run`; arguments that fail go back to the model as a tool error it can correct, never
 * a crash of the run.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: "weather",
 *   description: "Current weather for a city",
 *   input: v.object({ city: v.pipe(v.string(), v.minLength(1)) }),
 *   run: async ({ city }, { signal }) => (await fetch(`https://wttr.in/${city}?format=3`, { signal })).text(),
 * });
 * ```
 */
export function defineTool<S extends v.GenericSchema>(spec: ToolSpec<S>): Tool<S> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(spec.name)) {
    throw llmErrors.create("TF_LLM_TOOL", {
      problem: `invalid tool name ${JSON.stringify(spec.name)}: use 1 to 64 letters, digits, _ or -`,
    });
  }
  const { $schema: _draft, ...parameters } = toJsonSchema(spec.input, { errorMode: "ignore" }) as Record<
    string,
    unknown
  >;
  return {
    ...spec,
    definition: { name: spec.name, description: spec.description, parameters },
  };
}

/** The outcome of parsing a model's arguments for a tool. */
export type ParsedArguments =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string };

/** Parses and validates a model's JSON arguments; the error is written for the model to correct. */
export function parseArguments(tool: AnyTool, text: string): ParsedArguments {
  let raw: unknown;
  try {
    raw = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    return { ok: false, error: `arguments are not valid JSON: ${JSON.stringify(text.slice(0, 200))}` };
  }
  const result = v.safeParse(tool.input, raw);
  if (result.success) return { ok: true, value: result.output };
  const problems = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return { ok: false, error: `invalid arguments: ${problems.join("; ")}` };
}
