import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { postgresErrors } from "./errors.ts";

/** A held lock on a PGlite data folder; `release` removes it. */
export interface FolderLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

/**
 * Takes the lock file beside a PGlite data folder (`<folder>.lock`, holding the owner's pid).
 * PGlite itself takes no lock: two processes on one folder both open it and lose each other's
 * writes (seen here: a second process's rows vanished under the first one's). A lock left by a
 * process that no longer runs is taken over.
 */
export function lockFolder(folder: string): FolderLock {
  const path = `${folder.replace(/\/+$/, "")}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    const owner = Number.parseInt(readOwner(path), 10);
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw postgresErrors.create("TF_POSTGRES_EMBEDDED_IN_USE", { folder, lockFile: path, pid: owner });
    }
    // A stale lock (its process is gone): remove it and try again.
    try {
      unlinkSync(path);
    } catch {
      // Someone else removed it first.
    }
  }
  throw postgresErrors.create("TF_POSTGRES_EMBEDDED_IN_USE", { folder, lockFile: path });
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}
