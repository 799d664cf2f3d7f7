// The chat page's script: plain JavaScript, no framework, no build step. It talks to the JSON API,
// streams each reply as server-sent events read from fetch (so it can send the Authorization
// header, which EventSource cannot), shows tool calls as they happen, and when the stream breaks
// it reconnects to the run's events with Last-Event-ID: no word is lost or shown twice.

(() => {
  const $ = (id) => document.getElementById(id);
  const els = {
    tokenForm: $("token-form"),
    token: $("token"),
    sessions: $("session-list"),
    more: $("more-sessions"),
    create: $("new-session"),
    heading: $("chat-heading"),
    log: $("log"),
    form: $("send-form"),
    message: $("message"),
    send: $("send"),
    stop: $("stop"),
    status: $("status"),
  };
  const state = { token: sessionStorage.getItem("agent-token") || "", session: null, run: null, cursor: null };
  els.token.value = state.token;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function say(text, error = false) {
    els.status.textContent = text;
    els.status.classList.toggle("error", error);
  }

  function headers(extra = {}) {
    return state.token ? { ...extra, authorization: `Bearer ${state.token}` } : { ...extra };
  }

  async function failure(response) {
    let detail = `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch {
      // not a problem+json body
    }
    const error = new Error(detail);
    error.status = response.status;
    return error;
  }

  async function api(path, init = {}) {
    const response = await fetch(path, { ...init, headers: headers(init.headers) });
    if (!response.ok) throw await failure(response);
    return response;
  }

  // Sessions -----------------------------------------------------------------------------------

  function sessionItem(session) {
    const item = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = session.title || "Untitled session";
    open.dataset.session = session.session_id;
    open.setAttribute("aria-current", String(session.session_id === state.session));
    open.addEventListener("click", () => openSession(session.session_id, open.textContent));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "delete";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${open.textContent}`);
    remove.addEventListener("click", () => deleteSession(session.session_id));
    item.append(open, remove);
    return item;
  }

  async function loadSessions(more = false) {
    const cursor = more && state.cursor ? `&cursor=${encodeURIComponent(state.cursor)}` : "";
    const body = await (await api(`/chat/sessions?limit=20${cursor}`)).json();
    if (!more) els.sessions.replaceChildren();
    for (const session of body.sessions) els.sessions.append(sessionItem(session));
    state.cursor = body.next_cursor;
    els.more.hidden = !state.cursor;
  }

  async function openSession(id, title) {
    state.session = id;
    els.heading.textContent = title || "Untitled session";
    for (const button of els.sessions.querySelectorAll("button.open")) {
      button.setAttribute("aria-current", String(button.dataset.session === id));
    }
    const body = await (await api(`/chat/sessions/${id}/history`)).json();
    renderHistory(body.history);
    els.message.disabled = false;
    els.send.disabled = false;
    els.message.focus();
    say("");
  }

  async function createSession() {
    const session = await (await api("/chat/sessions", { method: "POST" })).json();
    await loadSessions();
    await openSession(session.session_id, session.title);
  }

  async function deleteSession(id) {
    await api(`/chat/sessions/${id}`, { method: "DELETE" });
    if (state.session === id) {
      state.session = null;
      els.heading.textContent = "No session open";
      els.log.replaceChildren();
      els.message.disabled = true;
      els.send.disabled = true;
    }
    await loadSessions();
    say("Session deleted");
  }

  // The conversation ---------------------------------------------------------------------------

  function bubble(role, text) {
    const item = document.createElement("li");
    item.className = `message ${role}`;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Agent";
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(who, body);
    els.log.append(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function toolItem(call) {
    const item = document.createElement("li");
    item.className = "tool";
    item.dataset.call = call.id;
    const label = document.createElement("span");
    label.textContent = "Tool call ";
    const code = document.createElement("code");
    code.textContent = `${call.name}(${call.arguments})`;
    const result = document.createElement("span");
    result.className = "result";
    result.textContent = " …";
    item.append(label, code, result);
    els.log.append(item);
    return item;
  }

  function showResult(item, content, ok = true) {
    const result = item.querySelector(".result");
    result.textContent = ok ? ` → ${content}` : ` failed: ${content}`;
  }

  function renderHistory(history) {
    els.log.replaceChildren();
    const calls = new Map();
    for (const message of history) {
      if (message.role === "tool") {
        const item = calls.get(message.tool_call_id);
        if (item) showResult(item, message.content);
        continue;
      }
      if (message.tool_calls) {
        if (message.content) bubble("assistant", message.content);
        for (const call of message.tool_calls) calls.set(call.id, toolItem(call));
        continue;
      }
      bubble(message.role, message.content);
    }
  }

  // Streaming a reply ----------------------------------------------------------------------------

  /** Reads SSE frames from a response body; calls back per event, and with a `retry:` hint. */
  async function readFrames(response, onEvent, onRetry) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
        const frame = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        let id;
        let data = "";
        for (const line of frame.split("\n")) {
          if (line.startsWith("id:")) id = line.slice(3).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
          else if (line.startsWith("retry:")) onRetry(Number(line.slice(6)));
        }
        if (data) onEvent(JSON.parse(data), id);
      }
    }
  }

  /** One reply as it streams: the text of each step (a `reset` drops a step's), its tool calls. */
  function replyView() {
    const item = bubble("assistant", "");
    item.setAttribute("aria-busy", "true");
    const steps = new Map();
    const tools = new Map();
    const text = () => {
      item.querySelector(".text").textContent = [...steps.values()].join("");
    };
    return {
      handle(event) {
        switch (event.type) {
          case "text":
            steps.set(event.step, (steps.get(event.step) || "") + event.text);
            text();
            return false;
          case "reset":
            steps.delete(event.step);
            for (const [id, tool] of tools) {
              if (tool.step === event.step) {
                tool.item.remove();
                tools.delete(id);
              }
            }
            text();
            return false;
          case "tool_call": {
            const tool = toolItem(event.call);
            els.log.insertBefore(tool, item);
            tools.set(event.call.id, { step: event.step, item: tool });
            return false;
          }
          case "tool_result": {
            const tool = tools.get(event.call_id);
            if (tool) showResult(tool.item, event.content, event.ok);
            return false;
          }
          case "done":
            item.querySelector(".text").textContent = event.text;
            return true;
          case "cancelled":
            item.querySelector(".text").textContent = `${[...steps.values()].join("")} (stopped)`;
            return true;
          case "failed":
            item.querySelector(".text").textContent = `The agent could not answer: ${event.message}`;
            return true;
          default:
            return false;
        }
      },
      finish() {
        item.removeAttribute("aria-busy");
        item.scrollIntoView({ block: "end" });
      },
    };
  }

  /** Follows a run's stream to its end, reconnecting with Last-Event-ID when it breaks. */
  async function follow(response, view) {
    const session = state.session;
    let lastId;
    let retryMs = 1000;
    let ended = false;
    for (let attempt = 0; ; attempt++) {
      try {
        await readFrames(
          response,
          (event, id) => {
            if (id) lastId = id;
            ended = view.handle(event) || ended;
          },
          (ms) => {
            retryMs = ms;
          },
        );
      } catch {
        // The connection broke mid-stream: reconnect below.
      }
      if (ended) return;
      if (attempt >= 10) throw new Error("Lost the reply's stream; reload the session to see it");
      say("Connection lost: reconnecting…");
      await sleep(Math.min(retryMs * (attempt + 1), 10_000));
      const resume = lastId ? { "last-event-id": lastId } : {};
      response = await fetch(`/chat/sessions/${session}/runs/${state.run}/events`, {
        headers: headers({ accept: "text/event-stream", ...resume }),
      });
      if (!response.ok) throw await failure(response);
      say("Reconnected");
    }
  }

  async function send(text) {
    els.send.disabled = true;
    els.message.value = "";
    bubble("user", text);
    say("The agent is answering…");
    const response = await fetch(`/chat/sessions/${state.session}/messages`, {
      method: "POST",
      headers: headers({
        "content-type": "application/json",
        accept: "text/event-stream",
        "idempotency-key": crypto.randomUUID(),
      }),
      body: JSON.stringify({ text }),
    });
    if (!response.ok) throw await failure(response);
    state.run = response.headers.get("x-run-id");
    els.stop.hidden = false;
    const view = replyView();
    try {
      await follow(response, view);
      say("");
    } finally {
      view.finish();
      state.run = null;
      els.stop.hidden = true;
      els.send.disabled = false;
      els.message.focus();
    }
    await loadSessions();
  }

  // Wiring -------------------------------------------------------------------------------------

  const report = (error) => say(error.message || String(error), true);

  els.tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = els.token.value.trim();
    sessionStorage.setItem("agent-token", state.token);
    loadSessions().then(() => say("Token in use"), report);
  });
  els.create.addEventListener("click", () => createSession().catch(report));
  els.more.addEventListener("click", () => loadSessions(true).catch(report));
  els.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.message.value.trim();
    if (text && state.session) send(text).catch(report);
  });
  els.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.form.requestSubmit();
    }
  });
  els.stop.addEventListener("click", () => {
    if (!state.run) return;
    api(`/chat/sessions/${state.session}/runs/${state.run}`, { method: "DELETE" }).catch(report);
  });

  loadSessions().catch(report);
})();
