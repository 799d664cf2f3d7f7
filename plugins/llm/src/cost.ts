import type { ChatUsage } from "@twelvefold/kernel";

/** A model's price in US dollars per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
}

/** Prices by model name (LLM_PRICES). A key also prices the dated versions it prefixes (`gpt-4o-mini` prices `gpt-4o-mini-2024-07-18`). */
export type PriceTable = Readonly<Record<string, Price>>;

/** The price of `model`: its own entry, else the longest key it starts with. */
export function priceOf(table: PriceTable, model: string): Price | undefined {
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : table[best];
}

/**
 * What a call cost in US dollars, priced by the model that answered, else by the one asked for;
 * `undefined` when the table prices neither.
 *
 * @example
 * ```ts
 * costOf({ "gpt-4o-mini": { input: 0.15, output: 0.6 } }, "gpt-4o-mini-2024-07-18", "gpt-4o-mini", usage);
 * ```
 */
export function costOf(
  table: PriceTable,
  responseModel: string,
  requestModel: string,
  usage: ChatUsage,
): number | undefined {
  const price = priceOf(table, responseModel) ?? priceOf(table, requestModel);
  if (!price) return undefined;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}
