import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { createApp } from "./app.ts";
import { adminUsage, commandUsage, defineCommand, parseCommandArgs } from "./command.ts";
import { env } from "./config.ts";
import { KernelError } from "./errors.ts";
import { definePlugin } from "./plugin.ts";

const runJob = defineCommand({
  name: "run-job",
  description: "Run one scheduled job now",
  args: v.object({
    name: v.pipe(v.string(), v.minLength(1)),
    dryRun: v.optional(env.boolean(), "false"),
    limit: v.optional(env.integer({ min: 1, max: 100 })),
  }),
  positional: ["name"],
  run() {},
});

describe("parseCommandArgs", () => {
  test("positional words, --flag, --no-flag and --key=value arrive as strings the schema parses", () => {
    expect(parseCommandArgs(runJob, ["purge"])).toEqual({ name: "purge", dryRun: false });
    expect(parseCommandArgs(runJob, ["purge", "--dry-run", "--limit=5"])).toEqual({
      name: "purge",
      dryRun: true,
      limit: 5,
    });
    expect(parseCommandArgs(runJob, ["--name=purge", "--no-dry-run"])).toEqual({ name: "purge", dryRun: false });
    expect(parseCommandArgs(runJob, ["--", "--odd-name"])).toEqual({ name: "--odd-name", dryRun: false });
  });

  test("an option that is not a flag takes the next word as its value; a flag never does", () => {
    expect(parseCommandArgs(runJob, ["--limit", "5", "purge"])).toEqual({ name: "purge", dryRun: false, limit: 5 });
    expect(parseCommandArgs(runJob, ["--dry-run", "purge"])).toEqual({ name: "purge", dryRun: true });
    expect(parseCommandArgs(runJob, ["--name", "purge", "--dry-run"])).toEqual({ name: "purge", dryRun: true });
    // No word after it: the option gets "true", and its schema says what it wanted.
    expect(() => parseCommandArgs(runJob, ["purge", "--limit"])).toThrow(
      '--limit: an integer from 1 to 100, got "true"',
    );
  });

  test("bad arguments are a usage error saying which one and why", () => {
    const fails = (argv: string[]) => {
      try {
        parseCommandArgs(runJob, argv);
      } catch (error) {
        expect(error).toBeInstanceOf(KernelError);
        expect((error as KernelError).code).toBe("TF_COMMAND_USAGE");
        return (error as Error).message;
      }
      throw new Error("expected a usage error");
    };
    expect(fails([])).toStartWith("admin: run-job: bad arguments: <name>: ");
    expect(fails(["purge", "--limit=500"])).toBe(
      'admin: run-job: bad arguments: --limit: an integer from 1 to 100, got "500"',
    );
    expect(fails(["purge", "--verbose"])).toBe('admin: run-job: unknown option "--verbose"');
    expect(fails(["purge", "extra", "more"])).toBe('admin: run-job: unexpected arguments "extra", "more"');
  });

  test("a command without args takes none", () => {
    const plain = defineCommand({ name: "seed", description: "Load the sample data", run() {} });
    expect(parseCommandArgs(plain, [])).toEqual({});
    expect(() => parseCommandArgs(plain, ["--force"])).toThrow('admin: seed: unknown option "--force"');
  });
});

describe("defineCommand", () => {
  test("usage lines list positional words and options, aligned with the descriptions", () => {
    expect(commandUsage(runJob)).toBe("run-job <name> [--dry-run] [--limit]");
    const seed = defineCommand({ name: "seed", description: "Load the sample data", run() {} });
    expect(adminUsage("agent", [seed, runJob]).split("\n")).toEqual([
      "usage: agent admin <command> [args]",
      "",
      "commands:",
      "  seed                                  Load the sample data",
      "  run-job <name> [--dry-run] [--limit]  Run one scheduled job now",
    ]);
  });

  test("refuses a bad name, a missing description and a missing run", () => {
    expect(() => defineCommand({ name: "Run Job", description: "x", run() {} })).toThrow(
      'admin: command "Run Job": invalid name: use lower case letters, digits and -',
    );
    expect(() => defineCommand({ name: "seed", description: " ", run() {} })).toThrow(
      'admin: command "seed": needs a description',
    );
    expect(() => defineCommand({ name: "seed", description: "x" } as never)).toThrow("run must be a function");
  });

  test("two commands of one name are refused when the app is built, naming where each came from", () => {
    const seed = defineCommand({ name: "seed", description: "Load the sample data", run() {} });
    const withSeed = definePlugin({ name: "fixtures", commands: [seed], start() {} });
    expect(() => createApp({ name: "t", plugins: [withSeed], commands: [seed] })).toThrow(
      'admin: two commands are named "seed": from plugin "fixtures" and from the app',
    );
    const config = defineCommand({ name: "config", description: "Mine", run() {} });
    expect(() => createApp({ name: "t", plugins: [], commands: [config] })).toThrow(
      'admin: two commands are named "config": from the kernel and from the app',
    );
  });
});
