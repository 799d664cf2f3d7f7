/**
 * The chat page in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * a person opens a session, sends messages with the keyboard, watches the reply stream in with its
 * tool calls, keeps the reply through a dropped connection, and finds the conversation again after
 * a reload. Under the http plugin's CSP, with no console error. A screenshot of the finished
 * conversation goes to apps/agent/.screenshots/ (ignored by git).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type AgentProcess, startProcess } from "../src/testdata/process.ts";

const executable = Bun.which("chromium");
if (!executable) {
  if (process.env.CI === "true")
    throw new Error("chromium is not installed, and CI=true (apt-get install -y chromium)");
  console.warn("skip: chromium is not on the PATH (apt-get install -y chromium)");
}

const SCREENSHOTS = new URL("../.screenshots/", import.meta.url).pathname;

describe.if(executable !== null)("the chat page in Chromium", () => {
  const scratch = mkdtempSync(join(tmpdir(), "agent-page-"));
  let agent: AgentProcess;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    agent = await startProcess("dev", {
      PGLITE_DATA_DIR: join(scratch, "pglite"),
      // Slow enough to watch the reply stream in, and to drop the connection mid-reply.
      LLM_LOCAL_TOKEN_DELAY_MS: "15",
      AGENT_DEV_USER: `browser-${crypto.randomUUID().slice(0, 8)}`,
    });
    context = await chromium.launchPersistentContext(join(scratch, "profile"), {
      executablePath: executable as string,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1100, height: 760 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    const code = await agent?.stop();
    rmSync(scratch, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 60_000);

  test("open a session, send with the keyboard, watch the reply and its tool call stream in", async () => {
    await page.goto(agent.url);
    await page.getByRole("button", { name: "New session" }).click();
    await page.getByRole("heading", { level: 2, name: "Untitled session" }).waitFor();
    const message = page.getByLabel("Message");
    await expect(message.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await message.fill("What is 12 * (3 + 4)?");
    await message.press("Enter");
    const log = page.getByRole("log");
    await log.getByText("calculator(").waitFor();
    await log.getByText("12 * (3 + 4) = 84.", { exact: true }).waitFor();
    await expect(log.locator(".tool .result").first().textContent()).resolves.toBe(' → {"result":84}');
  }, 60_000);

  test("a reply survives a dropped connection: the page resumes from its Last-Event-ID, each word once", async () => {
    const resumed: Array<string | null> = [];
    page.on("request", (request) => {
      if (request.url().endsWith("/events")) resumed.push(request.headers()["last-event-id"] ?? null);
    });
    // The first answer to the next message is cut after four events, as a proxy or a flaky network would.
    await page.route(
      "**/messages",
      async (route) => {
        const response = await route.fetch();
        const frames = (await response.text()).split("\n\n").filter((f) => f.startsWith("id:"));
        await route.fulfill({ response, body: `${frames.slice(0, 4).join("\n\n")}\n\n` });
      },
      { times: 1 },
    );
    const message = page.getByLabel("Message");
    await message.fill("What time is it in Tokyo? Remember that my cat is called Mochi.");
    await message.press("Enter");
    const reply = page.locator(".message.assistant").last();
    await reply.getByText("I will remember that my cat is called Mochi.").waitFor({ timeout: 30_000 });
    expect(resumed).toHaveLength(1);
    expect(resumed[0]).toMatch(/^\d+-\d+$/);
    const text = (await reply.locator(".text").textContent()) ?? "";
    expect(text).toStartWith("The time in Asia/Tokyo is ");
    expect(text.split("I will remember").length).toBe(2);
    await expect(page.locator(".tool code").allTextContents()).resolves.toEqual([
      'calculator({"expression":"12 * (3 + 4)"})',
      'clock({"timeZone":"Asia/Tokyo"})',
      'remember({"fact":"my cat is called Mochi"})',
    ]);
  }, 60_000);

  test("after a reload the session is listed by its title, and its history shows the tool calls", async () => {
    await page.reload();
    const session = page.getByRole("button", { name: "What is 12 * (3 + 4)?", exact: true });
    await session.waitFor({ timeout: 30_000 });
    // Keyboard only: focus the session's button and open it with Enter.
    await session.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 2, name: "What is 12 * (3 + 4)?" }).waitFor();
    await page.getByRole("log").getByText("I will remember that my cat is called Mochi.").waitFor();
    await expect(page.locator(".tool").count()).resolves.toBe(3);
    await expect(page.locator(".message").count()).resolves.toBe(4);
    // The focused control shows it.
    await page.getByLabel("Message").focus();
    const outline = await page.getByLabel("Message").evaluate((el) => getComputedStyle(el).outlineStyle);
    expect(outline).toBe("solid");
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, "chat.png"), fullPage: true });
    expect(problems).toEqual([]);
  }, 60_000);
});
