/** Stable codes of the kit's errors. */
export type TestingErrorCode = "TF_TESTING_NO_HTTP_HANDLER" | "TF_TESTING_TIMEOUT";

/**
 * An error of the testing kit itself (not of the adapter under test): a harness used wrongly, or
 * a contract case that waited longer than its patience.
 *
 * @example
 * ```ts
 * try { await t.fetch("/"); } catch (e) { if (e instanceof TestingError) console.error(e.code); }
 * ```
 */
export class TestingError extends Error {
  override name = "TestingError";
  readonly code: TestingErrorCode;
  constructor(code: TestingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
