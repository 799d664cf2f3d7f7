import { expect, test } from "bun:test";
import { approvalRequest, approvalSigner } from "./approval.ts";

const call = { id: "call_1", name: "send_mail", arguments: '{"to":"ada@example.com"}' };
const request = approvalRequest("run-1", 2, call, 1_900_000_000_000);

test("a signed request verifies back to itself; any change, another key or a malformed token is refused", async () => {
  const signer = await approvalSigner("a-secret-of-at-least-32-characters!");
  const token = await signer.sign(request);
  expect(await signer.verify(token)).toEqual(request);
  expect(request).toEqual({
    run_id: "run-1",
    step: 2,
    call_id: "call_1",
    name: "send_mail",
    arguments: '{"to":"ada@example.com"}',
    expires_at: 1_900_000_000_000,
  });
  const [payload, signature] = token.split(".") as [string, string];
  const flipped = `${payload.slice(0, -2)}${payload.at(-2) === "A" ? "B" : "A"}${payload.at(-1)}`;
  const other = await approvalSigner("another-secret-of-at-least-32-chars!");
  for (const bad of [
    `${flipped}.${signature}`,
    `${payload}.${signature.slice(1)}`,
    `${payload}.${signature}.extra`,
    `${payload}.***`,
    "",
    "x".repeat(70_000),
    await other.sign(request),
  ]) {
    expect(await signer.verify(bad)).toBeUndefined();
  }
  // Signed by us but not a request: refused too.
  const notRequest = await signer.sign({ ...request, step: "two" } as unknown as typeof request);
  expect(await signer.verify(notRequest)).toBeUndefined();
});
