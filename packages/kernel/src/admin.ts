/**
 * The admin process: `admin <command> [args]` runs one command and exits. It is the kernel's
 * rule-12 runner: same code and config as the app, the admin plugins started, no listener.
 */
import * as v from "valibot";
import {
  adminUsage,
  type Command,
  type CommandContext,
  commandUsage,
  defineCommand,
  parseCommandArgs,
} from "./command.ts";
import { type ConfigEntry, formatConfig } from "./config.ts";
import type { Phase } from "./contracts/health.ts";
import type { Logger } from "./contracts/logger.ts";
import { ConfigError, ExitCode, KernelError, kernelErrors } from "./errors.ts";
import type { ServiceReader } from "./plugin.ts";
import { devProcessTypes, type ProcessType, processTypes } from "./process-types.ts";
import type { Runtime, ShutdownSignal } from "./runtime/types.ts";
import type { Token } from "./token.ts";

/** What the admin runner needs of the app. */
export interface AdminHost extends ServiceReader {
  readonly name: string;
  readonly logger: Logger;
  /** The app's phase: a signal during `starting` interrupts the start. */
  readonly phase: Phase;
  /** The plugins' and the app's commands. */
  readonly commands: readonly Command[];
  /** Starts the admin process's plugins, validating the command's settings with theirs; returns the command's. */
  startFor(command: Command): Promise<Record<string, unknown>>;
  /** Validates the kernel's and the command's settings only and sets the logger up; starts nothing. */
  configFor(command: Command): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  inspectConfig(options: { readonly process: readonly ProcessType[] }): Promise<ConfigEntry[]>;
  /** From now on, log lines go to stderr: stdout is the command's output. */
  logToStderr(): void;
}

const processChoices = [...processTypes, "dev"] as const;

/** The built-in `config` command: the effective config of a process type, each value's source, secrets redacted. */
function configCommand(host: AdminHost): Command {
  return defineCommand({
    name: "config",
    description: "Print the effective config with the source of each value, secrets redacted (--process=web)",
    args: v.object({ process: v.optional(v.picklist(processChoices, `one of ${processChoices.join(", ")}`), "admin") }),
    startsApp: false,
    async run({ args, print }) {
      const process = args.process === "dev" ? devProcessTypes : [args.process];
      print(formatConfig(await host.inspectConfig({ process })));
    },
  });
}

/** The exit code of a process a signal stopped: 128 + the signal's number. */
function signalExit(signal: ShutdownSignal): number {
  return signal === "SIGINT" ? ExitCode.sigint : ExitCode.sigterm;
}

/** Writes text to stderr where the runtime can, else to stdout. */
function writeError(runtime: Runtime, text: string): void {
  for (const line of text.split("\n")) (runtime.writeErrorLine ?? runtime.writeLine)(line);
}

/**
 * Runs `admin <command> [args]` and exits: 0 done, 1 failed (after stopping what started), 2 an
 * unknown command or bad arguments (with the usage on stderr), 78 bad config, 130 or 143 when a
 * SIGINT or SIGTERM stopped it (the command's signal aborts, and the process exits once the
 * command has returned and the app has stopped). A second signal exits at once.
 */
export async function runAdmin(host: AdminHost, argv: readonly string[], runtime: Runtime): Promise<never> {
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  const exit = (code: number): never => {
    clearInterval(keepAlive);
    return runtime.exit(code);
  };
  const print = (text: string) => {
    for (const line of text.split("\n")) runtime.writeLine(line);
  };
  const commands = [configCommand(host), ...host.commands];
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    if (name === undefined) writeError(runtime, adminUsage(host.name, commands));
    else print(adminUsage(host.name, commands));
    return exit(name === undefined ? ExitCode.usage : ExitCode.ok);
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    writeError(runtime, `admin: unknown command "${name}"\n\n${adminUsage(host.name, commands)}`);
    return exit(ExitCode.usage);
  }
  let args: unknown;
  try {
    args = parseCommandArgs(command, rest);
  } catch (error) {
    if (!(error instanceof KernelError && error.code === "TF_COMMAND_USAGE")) throw error;
    writeError(runtime, `${error.message}\n\nusage: ${host.name} admin ${commandUsage(command)}`);
    return exit(ExitCode.usage);
  }

  host.logToStderr();
  const logger = host.logger;
  const controller = new AbortController();
  let stoppedBy: ShutdownSignal | undefined;
  let code: number = ExitCode.ok;
  // The app logs what fails while stopping; a stop after a failure or a signal changes no exit code.
  const stopQuietly = async () => {
    try {
      await host.stop();
    } catch {}
  };
  const onSignal = (signal: ShutdownSignal) => () => {
    if (stoppedBy !== undefined) {
      logger.error("second signal: exiting without waiting for the command", { signal, command: name });
      exit(signalExit(signal));
    }
    stoppedBy = signal;
    logger.info("signal received: stopping the command", { signal, command: name });
    controller.abort(new DOMException(`admin: ${name}: ${signal} received`, "AbortError"));
    // A start still in progress is interrupted; a running command stops first, then the app.
    if (host.phase === "starting") void stopQuietly();
  };
  runtime.onSignal("SIGTERM", onSignal("SIGTERM"));
  runtime.onSignal("SIGINT", onSignal("SIGINT"));
  runtime.onFatal((error, kind) => {
    logger.error(kind === "uncaughtException" ? "uncaught exception" : "unhandled rejection", { error });
    code = ExitCode.failure;
    controller.abort(error);
  });

  let config: Record<string, unknown>;
  try {
    config = command.startsApp ? await host.startFor(command) : await host.configFor(command);
  } catch (error) {
    if (stoppedBy !== undefined) {
      await stopQuietly();
      return exit(signalExit(stoppedBy));
    }
    if (error instanceof ConfigError) {
      logger.error(error.message, { error: { name: error.name, code: error.code }, issues: error.issues });
      return exit(ExitCode.config);
    }
    logger.error("admin: the app failed to start", { command: name, error });
    await stopQuietly();
    return exit(ExitCode.failure);
  }

  const began = performance.now();
  const reader: ServiceReader = command.startsApp
    ? { get: host.get, find: host.find }
    : {
        get<T>(token: Token<T>): T {
          throw kernelErrors.create("TF_COMMAND_NO_APP", { command: name, token: token.id });
        },
        find: () => undefined,
      };
  const context: CommandContext<unknown, Record<string, unknown>> = {
    ...reader,
    command: name,
    args,
    config,
    signal: controller.signal,
    logger: logger.child({ command: name }),
    print,
  };
  if (stoppedBy === undefined) {
    try {
      await command.run(context);
      logger.debug("command done", { command: name, duration_ms: Math.round(performance.now() - began) });
    } catch (error) {
      if (stoppedBy !== undefined) logger.info("command stopped", { command: name, signal: stoppedBy });
      else if (error instanceof ConfigError) {
        // `config` reads the settings only when it runs: invalid ones are still a config failure.
        logger.error(error.message, { error: { name: error.name, code: error.code }, issues: error.issues });
        code = ExitCode.config;
      } else {
        logger.error("command failed", { command: name, error });
        code = ExitCode.failure;
      }
    }
  }
  try {
    await host.stop();
  } catch (error) {
    logger.error("admin: stop failed", { command: name, error });
    if (code === ExitCode.ok) code = ExitCode.failure;
  }
  return exit(stoppedBy !== undefined ? signalExit(stoppedBy) : code);
}
