import { expect, test } from "bun:test";

test("the README's worked example is the example file, word for word", async () => {
  const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();
  const example = await Bun.file(new URL("../examples/tiny-cache.test.ts", import.meta.url)).text();
  expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
});
