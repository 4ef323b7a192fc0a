/// The chat page served at `/`: one self-contained HTML document (no build step, nothing fetched from
/// elsewhere) that talks to /v1/chat/completions with `"stream": true` and shows the reply as it arrives.
enum ChatPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>MiniGPT chat</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body { font-family: system-ui, sans-serif; margin: 0; background: #f4f4f6; color: #222; }
    main { max-width: 760px; margin: 0 auto; padding: 16px; display: flex; flex-direction: column; height: 100vh; box-sizing: border-box; }
    h1 { font-size: 1.2em; margin: 0 0 8px; }
    #log { flex: 1; overflow-y: auto; background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 12px; }
    .msg { margin: 8px 0; padding: 8px 12px; border-radius: 8px; white-space: pre-wrap; max-width: 85%; }
    .user { background: #dbe9ff; margin-left: auto; }
    .assistant { background: #eee; }
    .error { background: #fdd; }
    form { display: flex; gap: 8px; margin-top: 8px; }
    #input { flex: 1; padding: 8px; font-size: 1em; }
    .settings { display: flex; gap: 16px; flex-wrap: wrap; margin-top: 8px; font-size: 0.9em; align-items: center; }
    .settings input[type=number] { width: 5em; }
    </style></head>
    <body><main>
    <h1>MiniGPT chat <small id="model"></small></h1>
    <div id="log" aria-live="polite"></div>
    <form id="form"><input id="input" autocomplete="off" placeholder="Type a message and press Enter">
    <button id="send" type="submit">Send</button><button id="stop" type="button" disabled>Stop</button>
    <button id="clear" type="button">New chat</button></form>
    <div class="settings">
    <label>System <input id="system" placeholder="optional"></label>
    <label>Temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.8"></label>
    <label>Max tokens <input id="maxTokens" type="number" min="1" max="4096" step="1" value="256"></label>
    <label>API key <input id="apiKey" type="password" placeholder="if the server has one"></label>
    </div>
    </main>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    let history = [];
    let controller = null;
    fetch("/v1/models").then(r => r.json()).then(j => { $("model").textContent = j.data ? "(" + j.data[0].id + ")" : ""; }).catch(() => {});

    function bubble(role, text) {
      const div = document.createElement("div");
      div.className = "msg " + role;
      div.textContent = text;
      $("log").appendChild(div);
      $("log").scrollTop = $("log").scrollHeight;
      return div;
    }

    function busy(on) { $("send").disabled = on; $("stop").disabled = !on; }

    async function send(text) {
      history.push({ role: "user", content: text });
      bubble("user", text);
      const reply = bubble("assistant", "");
      const messages = ($("system").value ? [{ role: "system", content: $("system").value }] : []).concat(history);
      const headers = { "Content-Type": "application/json" };
      if ($("apiKey").value) headers["Authorization"] = "Bearer " + $("apiKey").value;
      controller = new AbortController();
      busy(true);
      try {
        const response = await fetch("/v1/chat/completions", { method: "POST", headers, signal: controller.signal,
          body: JSON.stringify({ messages, stream: true, temperature: Number($("temperature").value),
                                 max_tokens: Number($("maxTokens").value) }) });
        if (!response.ok) {
          const body = await response.json().catch(() => ({}));
          throw new Error(body.error ? body.error.message : response.statusText);
        }
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\\n\\n")) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!event.startsWith("data: ")) continue;
            const data = event.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(chunk.error.message);
            const delta = chunk.choices[0] && chunk.choices[0].delta;
            if (delta && delta.content) { reply.textContent += delta.content; $("log").scrollTop = $("log").scrollHeight; }
          }
        }
      } catch (error) {
        if (error.name !== "AbortError") { reply.classList.add("error"); reply.textContent += " [" + error.message + "]"; }
      } finally {
        history.push({ role: "assistant", content: reply.textContent });
        controller = null;
        busy(false);
      }
    }

    $("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("input").value.trim();
      if (!text || controller) return;
      $("input").value = "";
      send(text);
    });
    $("stop").addEventListener("click", () => { if (controller) controller.abort(); });
    $("clear").addEventListener("click", () => { if (controller) controller.abort(); history = []; $("log").innerHTML = ""; });
    </script>
    </body></html>
    """
}
