import { describe, expect, test } from "bun:test";
import { parseDotenv } from "./dotenv.ts";

describe("parseDotenv", () => {
  test("reads plain, exported, quoted and commented lines", () => {
    const text = [
      "# a comment",
      "PORT=8080",
      "export HOST=0.0.0.0",
      "EMPTY=",
      "SPACED = value with spaces   # trailing comment",
      "SINGLE='literal $HOME \\n'",
      'DOUBLE="line one\\nline two \\"quoted\\""',
      "HASH=abc#def",
      "not a line",
    ].join("\n");
    expect(parseDotenv(text)).toEqual({
      PORT: "8080",
      HOST: "0.0.0.0",
      EMPTY: "",
      SPACED: "value with spaces",
      SINGLE: "literal $HOME \\n",
      DOUBLE: 'line one\nline two "quoted"',
      HASH: "abc#def",
    });
  });

  test("double quotes may span lines and CRLF files parse like LF ones", () => {
    expect(parseDotenv('KEY="-----BEGIN-----\r\nabc\r\n-----END-----"\r\nNEXT=1\r\n')).toEqual({
      KEY: "-----BEGIN-----\nabc\n-----END-----",
      NEXT: "1",
    });
  });

  test("a later line overrides an earlier one", () => {
    expect(parseDotenv("A=1\nA=2")).toEqual({ A: "2" });
  });
});
