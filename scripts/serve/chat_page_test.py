#!/usr/bin/env python3
"""Drives the chat page of a live `minigpt serve` in headless Chromium (Debian's `chromium`) over the DevTools
protocol: types a message, presses Enter, and checks that the reply streams in (several updates of the reply
bubble while the Stop button is enabled; the events are paced 20 ms apart in the page so each can render),
then a second turn that must send the whole conversation, and the Stop button.
Optionally saves a screenshot.

    apt-get install -y chromium && pip install websocket-client
    python3 scripts/serve/chat_page_test.py --binary .build/release/minigpt --screenshot docs/serve-chat-page.png
"""
import argparse
import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

from live_server import LiveServer, check, run_checks

# Installed before the first message: records every change of the last reply bubble and what fetch sent.
# The reply's body is passed to the page one server-sent event at a time, 20 ms apart: on loopback a short
# reply can arrive in one read, and the test must see each token render (the server's one-event-per-token
# framing is checked by the Swift tests).
RECORDER = """
window.__updates = []; window.__bodies = []; window.__reads = 0;
const realFetch = window.fetch;
window.fetch = async (url, options) => {
  if (options && options.body) window.__bodies.push(JSON.parse(options.body));
  const response = await realFetch(url, options);
  if (!response.body) return response;
  const reader = response.body.getReader();
  const signal = options && options.signal;
  // Like fetch's own body, the paced one fails with AbortError once the page aborts, even when the whole
  // reply had already arrived over the network (a short reply comes in one read).
  const aborted = (controller) => {
    if (!signal || !signal.aborted) return false;
    window.__aborted = true;
    reader.cancel();
    controller.error(new DOMException('The user aborted a request.', 'AbortError'));
    return true;
  };
  const paced = new ReadableStream({ async pull(controller) {
    if (aborted(controller)) return;
    let value, done;
    try { ({ value, done } = await reader.read()); } catch (error) { window.__aborted = true; throw error; }
    if (done) { controller.close(); return; }
    window.__reads += 1;
    let start = 0;
    for (let i = 0; i + 1 < value.length; i++) {
      if (value[i] === 10 && value[i + 1] === 10) {
        if (aborted(controller)) return;
        controller.enqueue(value.slice(start, i + 2));
        start = i + 2;
        await new Promise(resolve => setTimeout(resolve, 20));
      }
    }
    if (aborted(controller)) return;
    if (start < value.length) controller.enqueue(value.slice(start));
  }, cancel(reason) { return reader.cancel(reason); } });
  return new Response(paced, { status: response.status, statusText: response.statusText, headers: response.headers });
};
new MutationObserver(() => {
  const replies = document.querySelectorAll('.assistant');
  const last = replies[replies.length - 1];
  if (last) window.__updates.push({ text: last.textContent, stopEnabled: !document.getElementById('stop').disabled });
  // Armed by the test: press Stop as soon as the reply shows its first text.
  if (window.__stopOnFirstText && last && last.textContent) { window.__stopOnFirstText = false; document.getElementById('stop').click(); }
}).observe(document.getElementById('log'), { childList: true, subtree: true, characterData: true });
"""


class Browser:
    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="minigpt-chromium-")
        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--window-size=1000,760", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = self.process.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                port = int(match.group(1))
        if port is None:
            raise RuntimeError("chromium did not start its DevTools endpoint")
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for: {expression}")

    def type_and_enter(self, text):
        self.evaluate("document.getElementById('input').focus()")
        self.call("Input.insertText", text=text)
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                      **({"text": "\r"} if kind == "keyDown" else {}))

    def close(self):
        self.socket.close()
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=".build/release/minigpt")
    parser.add_argument("--model", default="Models/tiny-assistant")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--screenshot", help="save a PNG of the page after the conversation")
    args = parser.parse_args()
    with LiveServer(args.binary, args.model) as server:
        browser = Browser(args.chromium)
        try:
            browser.call("Page.enable")
            browser.call("Page.navigate", url=server.url + "/")
            browser.wait_for("document.readyState === 'complete' && document.getElementById('model').textContent !== ''")
            browser.evaluate(RECORDER)
            browser.evaluate("document.getElementById('temperature').value = '0.7'; document.getElementById('maxTokens').value = '40'")

            browser.type_and_enter("Reverse the letters a b c d e f")
            browser.wait_for("document.querySelectorAll('.assistant').length === 1 && document.getElementById('send').disabled === false "
                             "&& window.__updates.length > 0")
            updates = browser.evaluate("window.__updates")
            reply = browser.evaluate("document.querySelector('.assistant').textContent")
            check(reply and not browser.evaluate("document.querySelector('.assistant').classList.contains('error')"), f"reply: {reply!r}")
            growing = [u for u in updates if u["text"] and u["stopEnabled"]]
            check(len({u["text"] for u in growing}) >= 2, f"the reply did not stream (updates while Stop was enabled: {growing})")
            check(reply.startswith(growing[0]["text"]), "the first streamed text is not the start of the reply")
            reads = browser.evaluate("window.__reads")
            print(f"turn 1: streamed in {len(growing)} updates ({reads} network reads): {reply!r}")

            browser.type_and_enter("Now the letters x y z")
            browser.wait_for("document.querySelectorAll('.assistant').length === 2 && document.getElementById('send').disabled === false")
            sent = browser.evaluate("window.__bodies")[-1]
            roles = [m["role"] for m in sent["messages"]]
            check(roles == ["user", "assistant", "user"] and sent["messages"][1]["content"] == reply, f"turn 2 sent {sent}")
            check(sent["stream"] is True and sent["temperature"] == 0.7 and sent["max_tokens"] == 40, f"settings not sent: {sent}")
            second = browser.evaluate("document.querySelectorAll('.assistant')[1].textContent")
            print(f"turn 2: the page sent the whole conversation; reply {second!r}")

            # Stop: pressed at the reply's first text, it aborts the stream, and the server frees the slot. A new
            # conversation first: two sampled replies can already fill the shipped model's 64-token context.
            browser.evaluate("document.getElementById('clear').click(); window.__aborted = false; window.__stopOnFirstText = true;"
                             " document.getElementById('maxTokens').value = '400'")
            browser.type_and_enter("Tell me about the letters")
            browser.wait_for("document.querySelectorAll('.assistant').length === 1 && document.getElementById('send').disabled === false")
            third = browser.evaluate("document.querySelectorAll('.assistant')[0].textContent")
            check(browser.evaluate("window.__aborted") is True, f"Stop did not abort the stream (reply {third!r})")
            check(not browser.evaluate("document.querySelectorAll('.assistant')[0].classList.contains('error')"), "Stop showed an error")
            health = json.load(urllib.request.urlopen(server.url + "/health"))
            deadline = time.time() + 10
            while health["running"] != 0 and time.time() < deadline:
                time.sleep(0.1)
                health = json.load(urllib.request.urlopen(server.url + "/health"))
            check(health["running"] == 0, f"the stopped reply still runs on the server: {health}")
            print("stop: the stream was aborted mid-reply and the server freed the slot")

            if args.screenshot:
                shot = browser.call("Page.captureScreenshot", format="png")
                with open(args.screenshot, "wb") as file:
                    file.write(base64.b64decode(shot["data"]))
                print(f"screenshot: {args.screenshot}")
        finally:
            browser.close()
    print("chat page checks passed")


if __name__ == "__main__":
    run_checks(main)
