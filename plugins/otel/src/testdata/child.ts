// Helpers for tests that run one of the apps in this folder as a real process.

/** Reads stdout to the end (a closed pipe would make the child's logging fail), resolving at the first line with `needle`. */
export function watchStdout(stream: ReadableStream<Uint8Array>, needle: string, lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true });
        const complete = buffer.split("\n");
        buffer = complete.pop() ?? "";
        lines.push(...complete);
        const found = complete.find((l) => l.includes(needle));
        if (found !== undefined) resolve(found);
      }
      reject(new Error(`process ended before printing "${needle}": ${lines.join("\n")}`));
    })();
  });
}

/** Starts `bun <script>` (a file in this folder) with only `env` and PATH. */
export function spawnApp(script: string, env: Record<string, string>) {
  return Bun.spawn(["bun", new URL(`./${script}`, import.meta.url).pathname], {
    env: { PATH: Bun.env.PATH ?? "", ENVIRONMENT: "testing", LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
}
