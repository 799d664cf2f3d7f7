/** The testing kit's error catalogue: one table of codes and message templates. */
import { defineErrors, quote, TwelvefoldError } from "@twelvefold/kernel";

const table = {
  TF_TESTING_NO_HTTP_HANDLER: {
    message: (f: { token: string }) =>
      `testing: cannot fetch: no plugin provides ${quote(f.token)}: add the http plugin, or override the token`,
  },
  TF_TESTING_NO_LISTENER: {
    message: (f: { token: string }) =>
      `testing: no socket to call: no plugin provides ${quote(f.token)}: add the http plugin, which binds PORT=0 under the harness`,
  },
  TF_TESTING_TIMEOUT: {
    message: (f: { what: string; patienceMs: number }) => `testing: ${f.what} did not happen within ${f.patienceMs} ms`,
  },
} as const;

/** Stable codes of the kit's errors. */
export type TestingErrorCode = keyof typeof table;

/**
 * An error of the testing kit itself (not of the adapter under test): a harness used wrongly, or
 * a contract case that waited longer than its patience.
 *
 * @example
 * ```ts
 * import { TestingError, testApp } from "@twelvefold/testing";
 *
 * await using t = await testApp();
 * try { await t.fetch("/"); } catch (e) { if (e instanceof TestingError) console.error(e.code); }
 * ```
 */
export class TestingError extends TwelvefoldError<TestingErrorCode> {
  override name = "TestingError";
}

/** The kit's catalogue: `testingErrors.create(code, facts, options)`. */
export const testingErrors = defineErrors(table, TestingError);
