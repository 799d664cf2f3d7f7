/**
 * `bun run test`: the whole suite with the coverage threshold, as CI runs it. Every source file the
 * suite loads needs at least 80% of its lines and of its functions covered, or the run exits 1.
 *
 * The threshold lives here rather than in bunfig.toml because Bun applies bunfig's threshold to
 * whatever a run loaded: `bun test plugins/http` would then exit 1 with every test passing, on
 * the files that subset only touches. A subset run (`bun test <path>`) exits 0 when its tests pass;
 * this script reads the lcov report of the run it starts and applies the threshold per file.
 *
 * Extra arguments go to `bun test` (`bun run test --bail`).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const THRESHOLD = { lines: 0.8, functions: 0.8 };
const root = join(import.meta.dir, "..");
const dir = join(root, "coverage");

rmSync(dir, { recursive: true, force: true });
const run = Bun.spawnSync(
  [
    "bun",
    "test",
    "--coverage-reporter=text",
    "--coverage-reporter=lcov",
    `--coverage-dir=${dir}`,
    ...Bun.argv.slice(2),
  ],
  { cwd: root, stdout: "inherit", stderr: "inherit", stdin: "ignore" },
);

interface FileCoverage {
  file: string;
  lines: [hit: number, found: number];
  functions: [hit: number, found: number];
}

function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: FileCoverage | undefined;
  for (const line of text.split("\n")) {
    const [key, value = ""] = line.split(":", 2) as [string, string?];
    if (key === "SF") current = { file: value, lines: [0, 0], functions: [0, 0] };
    else if (!current) continue;
    else if (key === "LH") current.lines[0] = Number(value);
    else if (key === "LF") current.lines[1] = Number(value);
    else if (key === "FNH") current.functions[0] = Number(value);
    else if (key === "FNF") current.functions[1] = Number(value);
    else if (key === "end_of_record") {
      files.push(current);
      current = undefined;
    }
  }
  return files;
}

let below = 0;
try {
  for (const { file, lines, functions } of parseLcov(readFileSync(join(dir, "lcov.info"), "utf8"))) {
    for (const [what, [hit, found], min] of [
      ["lines", lines, THRESHOLD.lines],
      ["functions", functions, THRESHOLD.functions],
    ] as const) {
      if (found > 0 && hit / found < min) {
        below++;
        console.error(`coverage: ${file}: ${what} ${((100 * hit) / found).toFixed(2)}% is below ${100 * min}%`);
      }
    }
  }
} catch (error) {
  console.error(`coverage: no lcov report to check: ${(error as Error).message}`);
  below++;
}
if (below > 0) console.error(`coverage: ${below} threshold(s) missed`);
process.exit(run.exitCode !== 0 ? (run.exitCode ?? 1) : below > 0 ? 1 : 0);
