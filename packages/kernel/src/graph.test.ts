import { describe, expect, test } from "bun:test";
import { GraphError } from "./errors.ts";
import { buildGraph } from "./graph.ts";
import { definePlugin } from "./plugin.ts";
import { token } from "./token.ts";

const A = token<string>("test/A");
const B = token<string>("test/B");
const C = token<string>("test/C");
const noop = () => {};

describe("buildGraph", () => {
  test("orders providers before the plugins that require them", () => {
    const graph = buildGraph(
      [
        definePlugin({ name: "web", requires: [B], start: noop }),
        definePlugin({ name: "b", requires: [A], provides: [B], start: noop }),
        definePlugin({ name: "a", provides: [A], start: noop }),
      ],
      new Set(),
    );
    expect(graph.order).toEqual(["a", "b", "web"]);
    expect(graph.dependencies.get("web")).toEqual(["b"]);
  });

  test("a cycle is an error naming every plugin and token in the chain", () => {
    const build = () =>
      buildGraph(
        [
          definePlugin({ name: "a", requires: [C], provides: [A], start: noop }),
          definePlugin({ name: "b", requires: [A], provides: [B], start: noop }),
          definePlugin({ name: "c", requires: [B], provides: [C], start: noop }),
        ],
        new Set(),
      );
    expect(build).toThrow(GraphError);
    expect(build).toThrow(
      'graph: dependency cycle: "a" -> "c" -> "b" -> "a" ("a" needs "test/C" from "c"; "c" needs "test/B" from "b"; "b" needs "test/A" from "a")',
    );
  });

  test("a missing provider names the plugin and the token", () => {
    expect(() => buildGraph([definePlugin({ name: "web", requires: [A], start: noop })], new Set())).toThrow(
      'graph: "web" requires "test/A", which no plugin provides',
    );
  });

  test("two providers of one token is an error unless the token is overridden", () => {
    const plugins = [
      definePlugin({ name: "one", provides: [A], start: noop }),
      definePlugin({ name: "two", provides: [A], start: noop }),
    ];
    expect(() => buildGraph(plugins, new Set())).toThrow('graph: "test/A" is provided by both "one" and "two"');
    expect(() => buildGraph(plugins, new Set([A]))).not.toThrow();
  });

  test("two plugins with one name is an error", () => {
    expect(() =>
      buildGraph([definePlugin({ name: "x", start: noop }), definePlugin({ name: "x", start: noop })], new Set()),
    ).toThrow('graph: two plugins are named "x"');
  });

  test("an optional token orders after its provider when there is one, and is ignored otherwise", () => {
    const graph = buildGraph(
      [
        definePlugin({ name: "user", optional: [A, B], start: noop }),
        definePlugin({ name: "a", provides: [A], start: noop }),
      ],
      new Set(),
    );
    expect(graph.dependencies.get("user")).toEqual(["a"]);
  });

  test("a required token with a fallback needs no provider", () => {
    const Fallback = token<string>("test/Fallback", { fallback: () => "embedded" });
    const graph = buildGraph([definePlugin({ name: "user", requires: [Fallback], start: noop })], new Set());
    expect(graph.fallbacks).toEqual([Fallback]);
  });

  test("plugin names are checked", () => {
    expect(() => definePlugin({ name: "has space", start: noop })).toThrow('plugin: "has space": invalid name');
  });
});
