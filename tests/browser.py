"""Look at the built book in headless Chromium, as a reader's browser shows it, with no network.

tests/test_browser.py drives the browser through this module and writes its screenshots to
_build/screenshots/ (`BOOK_HTML=_build/html pytest tests/test_browser.py` for those of `make book`).
Chromium is controlled over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages separated by NUL bytes on file descriptors 3 and 4), which needs no extra Python package.
Every host name except 127.0.0.1 is made unresolvable, so a page that still needs the internet fails
here as it would for a reader offline.
"""
import base64
import collections
import contextlib
import fcntl
import functools
import http.server
import itertools
import json
import os
import pathlib
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--remote-debugging-pipe"]
VIEWPORT = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
# a phone held upright (an iPhone 12-15 is 390 x 844 CSS pixels), with mobile emulation
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
TRAMPOLINE = """import os, sys
for fd, target in zip(map(int, sys.argv[1:3]), (3, 4)):
    os.dup2(fd, target)
    os.close(fd)
os.execvp(sys.argv[3], sys.argv[3:])"""


def find_chromium():
    """The Chromium (or Chrome) executable: $CHROMIUM, else the first of CANDIDATES on the PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return next(filter(None, map(shutil.which, CANDIDATES)), None)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass   # a tab closed while a file was still being sent: nothing the book can fix


@contextlib.contextmanager
def serve(directory):
    """Serve `directory` over HTTP on 127.0.0.1; yields the base URL (ending in /)."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class BrowserError(Exception):
    """Chromium answered a command with an error, or did not answer in time."""


class Browser:
    """A headless Chromium driven over the DevTools protocol. Use as a context manager."""

    def __init__(self, executable=None, timeout=30):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("no Chromium found: install it, or set CHROMIUM=/path/to/chromium")
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._replies = {}
        self._events = collections.defaultdict(queue.Queue)   # per session id
        self._lock = threading.Lock()

    def __enter__(self):
        self._profile = tempfile.mkdtemp(prefix="book-chromium-")
        # Chromium reads commands on fd 3 and writes replies on fd 4. A small Python trampoline moves
        # our pipe ends there (from numbers >= 10, so that neither move overwrites the other end).
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()
        child_ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome, from_chrome)]
        os.close(to_chrome)
        os.close(from_chrome)
        command = [sys.executable, "-c", TRAMPOLINE, *map(str, child_ends), self.executable, *FLAGS,
                   f"--user-data-dir={self._profile}", "about:blank"]
        self._log = open(os.path.join(self._profile, "chromium.log"), "w+")
        self._process = subprocess.Popen(command, pass_fds=child_ends, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=self._log)
        for fd in child_ends:
            os.close(fd)
        self._reader = threading.Thread(target=self._receive, daemon=True)
        self._reader.start()
        try:
            self.version = self.send("Browser.getVersion")["product"]
        except (BrowserError, OSError) as err:
            self._log.seek(0)
            log = self._log.read()[-2000:]
            self.__exit__()
            raise BrowserError(f"{self.executable} did not start ({err}):\n{log}") from err
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._write)
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def _receive(self):
        buffer = b""
        with os.fdopen(self._read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                *messages, buffer = (buffer + chunk).split(b"\0")
                for message in map(json.loads, filter(None, messages)):
                    if "id" in message:
                        with self._lock:
                            reply = self._replies.get(message["id"])
                        if reply:   # else its sender gave up waiting
                            reply.put(message)
                    else:
                        self._events[message.get("sessionId")].put(message)

    def send(self, method, params=None, session=None, timeout=None):
        """Send one DevTools command and wait for its result."""
        number = next(self._ids)
        reply = queue.Queue(maxsize=1)
        with self._lock:
            self._replies[number] = reply
        message = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        try:
            answer = reply.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no answer from Chromium within {timeout or self.timeout} s") from None
        finally:
            with self._lock:
                del self._replies[number]
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        return answer["result"]

    def events(self, session=None):
        """Every event of a session received since the last call, in order."""
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self._events[session].get_nowait())
        return out

    def new_page(self, dark=False, viewport=VIEWPORT):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Page(self, target, session, dark, viewport)


class Page:
    """One tab. Records what a reader would see in the console: errors, failed requests."""

    def __init__(self, browser, target, session, dark, viewport=VIEWPORT):
        self.browser, self.target, self.session = browser, target, session
        self.problems, self.requests = [], []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", viewport)
        scheme = "dark" if dark else "light"
        self.send("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]})

    def send(self, method, params=None, timeout=None):
        return self.browser.send(method, params, self.session, timeout)

    def _collect(self):
        """Sort the events of this tab into console problems and requested URLs; return the event names."""
        seen = []
        for event in self.browser.events(self.session):
            method, params = event["method"], event.get("params", {})
            seen.append(method)
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                self.problems.append(f"uncaught exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                self.problems.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                self.problems.append(f"{entry['source']} error: {entry['text']} {entry.get('url', '')}".strip())
            elif method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                self.problems.append(f"request failed: {params['errorText']} ({params.get('type')})")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                self.problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
        return seen

    def goto(self, url, timeout=30):
        """Open `url` and wait for its load event."""
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        deadline, seen = time.monotonic() + timeout, []
        while "Page.loadEventFired" not in seen:
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not finish loading within {timeout} s")
            time.sleep(0.05)
            seen += self._collect()

    def evaluate(self, expression, timeout=None):
        """The value of a JavaScript expression (promises are awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"{expression[:60]}...: {details.get('exception', {}).get('description', details)}")
        return result["result"].get("value")

    def wait_for(self, condition, timeout=30, what=None):
        """Poll a JavaScript expression until it is truthy; raise if it never becomes so."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(condition):
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout} s waiting for {what or condition}")
            time.sleep(0.1)

    def settle(self):
        """Collect the events that arrived since the last look (call after the checks' waits)."""
        self._collect()

    def screenshot(self, path, selector=None, margin=8):
        """Save the visible screen, or the element matched by `selector`, as a PNG."""
        params = {"format": "png"}
        if selector:
            box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
                e.scrollIntoView({{block: "center"}}); const r = e.getBoundingClientRect();
                return {{x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}}; }})()""")
            params["clip"] = {"x": max(box["x"] - margin, 0), "y": max(box["y"] - margin, 0), "scale": 1,
                              "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin}
            params["captureBeyondViewport"] = True
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_bytes(data)
        return data

    def close(self):
        self.browser.send("Target.closeTarget", {"targetId": self.target})


# What a reader sees, measured once a page has settled; tests/test_browser.py asserts on it.
WAIT_FOR_MATH = "!window.MathJax || (MathJax.startup && MathJax.startup.promise.then(() => true))"
WIDGET_VIEWS = 'script[type="application/vnd.jupyter.widget-view+json"]'
# the widget manager draws each view into the element just before the view's script tag
WAIT_FOR_WIDGETS = f"""[...document.querySelectorAll('{WIDGET_VIEWS}')].every(s =>
    s.previousElementSibling && s.previousElementSibling.querySelector('.jupyter-widgets'))"""
REPORT = r"""(() => {
  const main = document.querySelector("main") || document.body;
  const prose = main.cloneNode(true);   // the text a reader reads, without code and rendered math
  prose.querySelectorAll("pre, code, script, style, textarea, mjx-container, .highlight")
       .forEach(e => e.remove());
  const box = e => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
  const CONTROLS = ".widget-slider, .widget-dropdown, .widget-progress, .widget-html, .widget-image";
  return {
    math: document.querySelectorAll("span.math, div.math").length,
    math_unrendered: [...document.querySelectorAll("span.math, div.math")]
        .filter(e => !e.querySelector("mjx-container")).map(e => e.textContent.slice(0, 80)),
    math_errors: [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 80)),
    prose: prose.textContent,
    images: [...main.querySelectorAll("img")].filter(i => !i.closest(".dropdown-menu")).map(i => ({
        src: i.currentSrc.slice(0, 120), alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
        natural: [i.naturalWidth, i.naturalHeight], shown: box(i)})),
    widgets: [...document.querySelectorAll('""" + WIDGET_VIEWS + r"""')].map(s => {
        const drawn = s.previousElementSibling && s.previousElementSibling.querySelector(".jupyter-widgets");
        if (!drawn) return {drawn: false, size: [0, 0], text: "", controls: 0, images: []};
        return {drawn: true, size: box(drawn), text: drawn.innerText.slice(0, 200),
                controls: drawn.querySelectorAll(CONTROLS).length,
                images: [...drawn.querySelectorAll("img")].map(i => i.naturalWidth)}; }),
    // Bootstrap moves a button's title into data-bs-original-title when it sets up the tooltip
    links: [...document.querySelectorAll("a[href]")].map(a => ({href: a.href,
        text: a.textContent.trim().slice(0, 60), title: a.getAttribute("data-bs-original-title") || a.title})),
    // what only a horizontal scrollbar would reveal: code or output (its longest line), a displayed
    // equation (the id around it) or a widget, anything in the text column that scrolls sideways
    sideways: [...main.querySelectorAll("*")].filter(e => e.scrollWidth > e.clientWidth + 1
        && ["auto", "scroll"].includes(getComputedStyle(e).overflowX)).map(e =>
        e.tagName === "PRE" ? "code: " + e.textContent.split("\n").reduce((a, b) => b.length > a.length ? b : a, "").slice(0, 100)
        : e.tagName === "MJX-CONTAINER" ? "equation in #" + (e.closest("[id]") || {}).id
        : e.tagName.toLowerCase() + "." + [...e.classList].slice(0, 3).join(".")),
    unresolved_refs: [...main.querySelectorAll(".xref")].filter(e => !e.closest("a")).map(e => e.textContent),
    sidebar: [...document.querySelectorAll(".bd-sidebar-primary nav a")].map(a => a.textContent.trim()),
    footer: (document.querySelector(".bd-footer-content") || {}).innerText || "",
  };
})()"""


# What a reader cannot reach on a narrow screen. An element of the article is cut off if it
# sticks out of the box that clips it (its nearest ancestor whose overflow is not visible, or the
# screen): on the left at all (no scrollbar reaches there), on the right unless that box scrolls.
# Also: the page itself scrolling sideways, and equation numbers outside the screen.
NARROW_REPORT = r"""(() => {
  const W = document.documentElement.clientWidth;
  const main = document.querySelector("main") || document.body;
  const name = e => {
    const where = e.closest("[id]");
    const text = (e.textContent || "").trim().replace(/\s+/g, " ").slice(0, 50);
    return e.tagName.toLowerCase() + (where ? " in #" + where.id : "") + (text ? ": " + text : "");
  };
  const clipper = e => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
      if (getComputedStyle(p).overflowX !== "visible") return p;
    return null;
  };
  const cut = [];
  for (const e of main.querySelectorAll("*")) {
    const r = e.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || getComputedStyle(e).visibility === "hidden"
        || e.closest("mjx-assistive-mml")) continue;   // MathJax's copy for screen readers
    const c = clipper(e);
    const box = c ? c.getBoundingClientRect() : {left: 0, right: W};
    const scrolls = c && ["auto", "scroll"].includes(getComputedStyle(c).overflowX);
    const start = Math.max(box.left, 0) - (c ? c.scrollLeft : 0);
    if (r.left < start - 1) cut.push(`${name(e)} (starts ${Math.round(start - r.left)} px left of the screen)`);
    else if (!scrolls && r.right > Math.min(box.right, W) + 1)
      cut.push(`${name(e)} (cut off ${Math.round(r.right - Math.min(box.right, W))} px on the right)`);
  }
  // report each cut-off thing once: the outermost element, not everything inside it
  const outer = cut.filter((c, i) => !cut.slice(0, i).some(d => c.startsWith(d.split(" (")[0])));
  return {
    width: W,
    page_width: document.documentElement.scrollWidth,
    cut: outer.slice(0, 20),
    numbers_off_screen: [...main.querySelectorAll("mjx-labels")].filter(e => {
        const r = e.getBoundingClientRect(); return r.width > 0 && (r.left < -1 || r.right > W + 1); })
        .map(e => name(e.closest("mjx-container"))),
  };
})()"""


def look(page, url, timeout=60):
    """Open `url`, wait until math is typeset and widgets are drawn, and return the REPORT."""
    page.goto(url, timeout)
    page.evaluate(WAIT_FOR_MATH, timeout)
    try:
        page.wait_for(WAIT_FOR_WIDGETS, 20, what="the widgets to be drawn")
    except BrowserError:
        pass   # the report says which widget was not drawn
    report = page.evaluate(REPORT)
    page.settle()
    return report
