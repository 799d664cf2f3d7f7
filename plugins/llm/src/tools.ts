import * as v from "valibot";
import { defineTool } from "./tool.ts";

/**
 * Evaluates an arithmetic expression: numbers, `+ - * / % ^`, parentheses and unary minus, with
 * the usual precedence (`^` binds tightest and to the right). A small parser rather than `eval`
 * or a math library: the model's text is never run as code, and nothing heavy is loaded.
 *
 * @example
 * ```ts
 * evaluate("12 * (3 + 4) ^ 2"); // 588
 * ```
 */
export function evaluate(expression: string): number {
  const apart = /[\d.]\s+[\d.]/.exec(expression);
  if (apart) throw new RangeError(`two numbers with no operator between them in ${JSON.stringify(expression)}`);
  const text = expression.replace(/\s+/g, "");
  let at = 0;
  const fail = (what: string): never => {
    throw new RangeError(`${what} at position ${at + 1} of ${JSON.stringify(expression)}`);
  };
  const number = (): number => {
    const match = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(text.slice(at));
    if (!match) return fail(at >= text.length ? "unexpected end" : `unexpected "${text[at]}"`);
    at += match[0].length;
    return Number(match[0]);
  };
  const atom = (): number => {
    if (text[at] === "-") {
      at++;
      return -atom();
    }
    if (text[at] === "+") {
      at++;
      return atom();
    }
    if (text[at] === "(") {
      at++;
      const value = sum();
      if (text[at] !== ")") fail('missing ")"');
      at++;
      return value;
    }
    return number();
  };
  const power = (): number => {
    const base = atom();
    if (text[at] !== "^") return base;
    at++;
    return base ** power();
  };
  const product = (): number => {
    let value = power();
    for (let op = text[at]; op === "*" || op === "/" || op === "%"; op = text[at]) {
      at++;
      const right = power();
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    for (let op = text[at]; op === "+" || op === "-"; op = text[at]) {
      at++;
      const right = product();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  };
  const value = sum();
  if (at < text.length) fail(`unexpected "${text[at]}"`);
  if (!Number.isFinite(value)) throw new RangeError(`${JSON.stringify(expression)} has no finite value`);
  return value;
}

/**
 * A calculator tool over {@link evaluate}; the result is `{ result }`.
 *
 * @example
 * ```ts
 * runAgent({ model, tools: [calculator()], messages: [{ role: "user", content: "What is 6 * 7?" }] });
 * ```
 */
export function calculator() {
  return defineTool({
    name: "calculator",
    description: "Evaluates an arithmetic expression (+ - * / % ^ and parentheses) and returns the result",
    input: v.object({
      expression: v.pipe(v.string(), v.minLength(1), v.maxLength(500), v.description("e.g. 12 * (3 + 4)")),
    }),
    run: ({ expression }) => ({ result: Number(evaluate(expression).toPrecision(12)) }),
  });
}

/**
 * A clock tool: the current date and time in an IANA time zone (default UTC); the result is
 * `{ time, timeZone, iso }`. An unknown zone is a tool error the model sees.
 *
 * @example
 * ```ts
 * runAgent({ model, tools: [clock()], messages: [{ role: "user", content: "What time is it in Tokyo?" }] });
 * ```
 */
export function clock(options: { readonly now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  return defineTool({
    name: "clock",
    description: "Tells the current date and time in a time zone",
    input: v.object({
      timeZone: v.optional(v.pipe(v.string(), v.description("an IANA time zone such as Europe/Paris")), "UTC"),
    }),
    run: ({ timeZone }) => {
      const date = now();
      let time: string;
      try {
        time = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "long", timeZone }).format(date);
      } catch {
        throw new RangeError(`unknown time zone ${JSON.stringify(timeZone)}: use an IANA name such as Europe/Paris`);
      }
      return { time, timeZone, iso: date.toISOString() };
    },
  });
}
