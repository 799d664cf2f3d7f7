// What a PromQL expression reads, for dashboard.test.ts: the series it selects, with the label
// names its matchers use, and the label names it groups or matches on.
//
// A tokenizer, not a parser: promtool (the real parser) checks that every expression is valid
// PromQL, so this only has to list names in valid expressions. Strings, ranges ([5m],
// [$__rate_interval]) and numbers or durations are skipped whole; an identifier followed by `(`
// is a function or an aggregation, as is one followed by `by` or `without`; one followed by `{`,
// or standing alone, is a metric name.

/** A series selector: `name{label="..."}`. */
export interface Selector {
  /** The metric name; `undefined` for a selector without one (`{__name__=~"..."}`). */
  readonly name: string | undefined;
  /** The label names its matchers use. */
  readonly labels: readonly string[];
}

/** What an expression reads. */
export interface Reads {
  readonly selectors: readonly Selector[];
  /** Label names in `by`, `without`, `on`, `ignoring`, `group_left` and `group_right` lists. */
  readonly grouping: readonly string[];
}

const TOKEN =
  /\s+|#[^\n]*|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`|\[[^\]]*\]|\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*|=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^@]/y;
const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set(["bool", "offset", "and", "or", "unless", "atan2", "inf", "nan"]);
const MATCH = new Set(["=", "!=", "=~", "!~"]);

function tokens(expr: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (!match) throw new SyntaxError(`promql: cannot read "${expr.slice(at, at + 20)}" in "${expr}"`);
    const token = match[0];
    if (!/^\s|^#/.test(token)) out.push(token);
  }
  return out;
}

const isName = (token: string | undefined) => token !== undefined && /^[a-zA-Z_:]/.test(token);

/**
 * Lists what a valid PromQL expression reads.
 *
 * @example
 * ```ts
 * reads('sum by (route) (rate(http_requests_total{status=~"5.."}[5m]))');
 * // { selectors: [{ name: "http_requests_total", labels: ["status"] }], grouping: ["route"] }
 * ```
 */
export function reads(expr: string): Reads {
  const list = tokens(expr);
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const matchers = (from: number): { labels: string[]; end: number } => {
    const labels: string[] = [];
    let i = from + 1;
    for (; i < list.length && list[i] !== "}"; i++) {
      if (isName(list[i]) && MATCH.has(list[i + 1] as string)) labels.push(list[i] as string);
    }
    return { labels, end: i };
  };
  for (let i = 0; i < list.length; i++) {
    const token = list[i] as string;
    const next = list[i + 1];
    if (token === "{") {
      const { labels, end } = matchers(i);
      selectors.push({ name: undefined, labels });
      i = end;
    } else if (!isName(token)) {
      // punctuation, an operator, a string, a range, a number or a duration
    } else if (GROUPING.has(token)) {
      if (next !== "(") continue;
      for (i += 2; i < list.length && list[i] !== ")"; i++) if (isName(list[i])) grouping.push(list[i] as string);
    } else if (KEYWORDS.has(token.toLowerCase()) || next === "(" || next === "by" || next === "without") {
      // a keyword, a function, or an aggregation (`sum by (route) (...)` too)
    } else if (next === "{") {
      const { labels, end } = matchers(i + 1);
      selectors.push({ name: token, labels });
      i = end;
    } else {
      selectors.push({ name: token, labels: [] });
    }
  }
  return { selectors, grouping };
}
