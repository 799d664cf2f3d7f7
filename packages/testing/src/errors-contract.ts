import { describe, expect, test } from "bun:test";
import { type ErrorCatalogue, type ErrorFacts, type ErrorTable, TwelvefoldError } from "@twelvefold/kernel";

/** One sample of facts per code of the table, so every template is rendered at least once. */
export type ErrorSamples<T extends ErrorTable> = { readonly [K in keyof T]: ErrorFacts<T[K]> };

/**
 * Holds a package's error catalogue to the house style: every code is `TF_<PREFIX>_...`, every
 * message (rendered with the sample facts) starts with the package's name and a colon and has no
 * final period; each error is a {@link TwelvefoldError} with its code
 * and the table's `retryable`, and keeps the cause it is given.
 *
 * @example
 * ```ts
 * import { errorsContract } from "@twelvefold/testing";
 * import { defineErrors } from "@twelvefold/kernel";
 *
 * const clockErrors = defineErrors({
 *   TF_CLOCK_DRIFT: { message: (f: { ms: number }) => `clock: drifted by ${f.ms} ms` },
 * });
 * errorsContract("clock", clockErrors, { TF_CLOCK_DRIFT: { ms: 12 } });
 * ```
 */
export function errorsContract<T extends ErrorTable, E extends TwelvefoldError<keyof T & string>, O>(
  scope: string,
  catalogue: ErrorCatalogue<T, E, O>,
  samples: ErrorSamples<T>,
): void {
  const prefix = `TF_${scope.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_`;
  describe(`${scope} errors`, () => {
    for (const code of Object.keys(catalogue.table) as Array<keyof T & string>) {
      test(`${code} follows the house style`, () => {
        expect(code.startsWith(prefix)).toBe(true);
        const cause = new Error("underneath");
        const create = catalogue.create as unknown as (code: string, facts: unknown, options: { cause: unknown }) => E;
        const error = create(code, samples[code], { cause });
        expect(error).toBeInstanceOf(TwelvefoldError);
        expect(error.code).toBe(code);
        expect(error.cause).toBe(cause);
        expect(error.retryable).toBe(catalogue.table[code]?.retryable ?? false);
        expect(error.message).toMatch(new RegExp(`^${scope.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: \\S`));
        expect(error.message).not.toMatch(/[.\s]$/);
      });
    }
  });
}
