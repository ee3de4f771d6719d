"""Open the built book's pages in headless Chromium at a phone's width and measure sideways scrolling.

(It also runs the book's own search page, for the ranking of results: ``--search``.)

For each page the tool loads ``file://.../<page>.html`` in a 390 x 844 CSS-pixel mobile viewport,
waits for MathJax to finish, and reports ``document.documentElement.scrollWidth`` against the
viewport's width; a page wider than the viewport scrolls sideways. It also names the elements that
stick out (the deepest ones, which are the culprits) and can save a screenshot of each page.

Chromium is driven through the DevTools protocol on 127.0.0.1 only (tornado's websocket client,
which Jupyter already installs); the pages are local files and the browser runs with background
networking off, so nothing is fetched from the internet. Debian/Ubuntu: ``apt-get install chromium``.

Examples::

    python tools/phone_check.py _build/html                       # every page of the book
    python tools/phone_check.py _build/html book/deploy book/api --screenshots /tmp/shots
    python tools/phone_check.py _build/html --search bptt --search "vanishing gradient"   # the search's ranking
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
LOAD_TIMEOUT_S = 60

# Runs in the page: the widths, and the deepest elements whose right edge passes the viewport
# (an element inside a box that scrolls by itself does not make the page scroll, so it is skipped).
MEASURE_JS = r"""
(() => {
  const doc = document.documentElement, vw = doc.clientWidth;
  const scrollsItself = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX) && p.scrollWidth >= p.clientWidth) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    if (getComputedStyle(el).visibility === "hidden" || scrollsItself(el)) continue;
    if ([...el.children].some(c => c.getBoundingClientRect().right > vw + 1)) continue;   // not the deepest
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                 (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
    out.push({element: name, right: Math.round(r.right), text: (el.textContent || "").trim().slice(0, 80)});
  }
  // Display math the theme cuts off: an equation wider than its box that is not scrollable.
  const clipped = [];
  for (const m of document.querySelectorAll("mjx-container[display='true']")) {
    const box = m.parentElement.getBoundingClientRect(), r = m.getBoundingClientRect();
    const scrollable = ["auto", "scroll"].includes(getComputedStyle(m).overflowX) && m.scrollWidth > m.clientWidth;
    if ((r.right > box.right + 1 || m.scrollWidth > m.clientWidth + 1) && !scrollable)
      clipped.push({equation: (m.querySelector("mjx-assistive-mml") || m).textContent.trim().slice(0, 60),
                    width: m.scrollWidth, box: Math.round(box.width)});
  }
  // Images drawn narrower than they are (a wide figure shrunk to the phone's width).
  const shrunk = [...document.querySelectorAll("main img")].filter(i => i.naturalWidth > 0 && i.clientWidth > 0
                   && i.clientWidth < 0.75 * i.naturalWidth / 2).map(i => ({src: i.getAttribute("src").slice(-50),
                   natural: i.naturalWidth, shown: i.clientWidth}));
  return {scrollWidth: doc.scrollWidth, clientWidth: vw, innerWidth: window.innerWidth, offenders: out.slice(0, 8),
          clippedMath: clipped, shrunkImages: shrunk};
})()
"""

MATHJAX_READY_JS = r"""
new Promise((resolve) => {
  // A page that loads MathJax is measured only once it has typeset (on a busy machine loading and
  // parsing MathJax alone can take seconds; untypeset TeX would be measured as wide text).
  const hasMathJax = [...document.scripts].some(s => /mathjax/i.test(s.src || ""));
  const t0 = Date.now();
  const poll = () => {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(() => resolve(true));
    } else if (!hasMathJax || Date.now() - t0 > 55000) { resolve(false); }   // no math on the page / give up
    else { setTimeout(poll, 50); }
  };
  poll();
})
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium, one tab, spoken to over the DevTools websocket on 127.0.0.1."""

    def __init__(self, executable: str | None = None):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise FileNotFoundError("no Chromium found (Debian/Ubuntu: apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="phone-check-")
        self.process = None
        self.ws = None
        self.session = None
        self._id = 0

    async def start(self):
        from tornado.websocket import websocket_connect
        self.process = subprocess.Popen(
            [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--hide-scrollbars", f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Chromium did not start ({self.executable}, exit code {self.process.poll()})")
            await asyncio.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = await websocket_connect(f"ws://127.0.0.1:{port}{path}", max_message_size=256 * 1024 * 1024)
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self.session = attached["sessionId"]
        await self.send("Page.enable", session=True)
        await self.send("Emulation.setDeviceMetricsOverride", session=True, **PHONE)

    async def send(self, method: str, session: bool = False, **params):
        """Send one command and wait for its answer (events in between are dropped)."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        await self.ws.write_message(json.dumps(message))
        while True:
            raw = await asyncio.wait_for(self.ws.read_message(), LOAD_TIMEOUT_S)
            if raw is None:
                raise RuntimeError("Chromium closed the DevTools connection")
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                                 returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open(self, url: str):
        await self.send("Page.navigate", session=True, url=url)
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while True:   # until the *new* document has loaded (the previous one may still answer, or vanish mid-call)
            try:
                state = await self.evaluate("[document.readyState, location.href]")
            except RuntimeError as exc:
                if "navigated or closed" not in str(exc) and "context" not in str(exc).lower():
                    raise
                state = None                  # the old page's context went away: the navigation is under way
            if state and state[0] == "complete" and state[1].split("#")[0] == url:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {LOAD_TIMEOUT_S} s (last state {state})")
            await asyncio.sleep(0.05)
        await self.evaluate(MATHJAX_READY_JS)
        await asyncio.sleep(0.2)          # one more layout after the last typeset

    async def screenshot(self, path: Path, scroll_to: str | None = None):
        if scroll_to:
            await self.evaluate(f"(document.querySelector({json.dumps(scroll_to)}) || document.body)"
                                ".scrollIntoView({block: 'start'})")
        shot = await self.send("Page.captureScreenshot", session=True, format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        if self.ws is not None:
            self.ws.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


async def _measure(html: Path, pages: list[str], screenshots: Path | None, scroll_to: str | None) -> dict:
    browser = Browser()
    results = {}
    try:
        await browser.start()
        for page in pages:
            await browser.open((html / f"{page}.html").resolve().as_uri())
            results[page] = await browser.evaluate(MEASURE_JS)
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                await browser.screenshot(screenshots / f"{page.replace('/', '_')}.png", scroll_to)
    finally:
        browser.close()
    return results


def measure(html: Path, pages: list[str], screenshots: Path | None = None, scroll_to: str | None = None) -> dict:
    """{page: {"scrollWidth", "clientWidth", "innerWidth", "offenders"}} at the phone's width."""
    return asyncio.run(_measure(Path(html), pages, screenshots, scroll_to))


SEARCH_RESULTS_JS = r"""
[...document.querySelectorAll("#search-results li a")].map(a => ({
  href: a.getAttribute("href"), score: Number(a.dataset.score), title: a.textContent.trim()}))
"""


async def _search(html: Path, queries: list[str]) -> dict:
    from urllib.parse import quote
    browser = Browser()
    results = {}
    try:
        await browser.start()
        for query in queries:
            await browser.open((html / "search.html").resolve().as_uri() + "?q=" + quote(query))
            deadline = time.monotonic() + LOAD_TIMEOUT_S
            while "Search finished" not in (await browser.evaluate(
                    "(document.querySelector('#search-results .search-summary') || {}).textContent || ''")):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"search for {query!r} did not finish in {LOAD_TIMEOUT_S} s")
                await asyncio.sleep(0.1)
            results[query] = await browser.evaluate(SEARCH_RESULTS_JS)
    finally:
        browser.close()
    return results


def search(html: Path, queries: list[str]) -> dict:
    """{query: [{"href", "score", "title"}, ...]}: the book's own search page (Sphinx's searchtools.js),
    results in the order it shows them, best first."""
    return asyncio.run(_search(Path(html), queries))


def all_pages(html: Path) -> list[str]:
    skip = {"genindex", "search", "py-modindex"}
    return sorted(str(p.relative_to(html).with_suffix("")) for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_") and p.stem not in skip)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, help="the built book (_build/html)")
    parser.add_argument("pages", nargs="*", help="pages without .html (default: every page)")
    parser.add_argument("--screenshots", type=Path, help="save a PNG of each page here")
    parser.add_argument("--scroll-to", help="CSS selector to scroll into view before the screenshot")
    parser.add_argument("--search", action="append", metavar="QUERY",
                        help="instead: print the book search's first results for QUERY (repeatable)")
    args = parser.parse_args(argv)
    if args.search:
        for query, hits in search(args.html, args.search).items():
            print(query)
            for hit in hits[:6]:
                print(f"   {hit['score']:4d}  {hit['href']:50s} {hit['title'][:60]}")
        return 0
    results = measure(args.html, args.pages or all_pages(args.html), args.screenshots, args.scroll_to)
    wide = 0
    for page, r in results.items():
        verdict = "ok" if r["scrollWidth"] <= r["clientWidth"] else "SCROLLS SIDEWAYS"
        print(f"{page:40s} scrollWidth {r['scrollWidth']:5d}  viewport {r['clientWidth']:4d}  {verdict}")
        for o in r["offenders"]:
            print(f"      {o['right']:5d}px  {o['element'][:70]}  {o['text'][:60]!r}")
        for m in r["clippedMath"]:
            print(f"      display math cut off: {m['width']}px in a {m['box']}px box: {m['equation']!r}")
        for i in r["shrunkImages"]:
            print(f"      image shown {i['shown']}px wide, drawn {i['natural']}px: {i['src']}")
        wide += r["scrollWidth"] > r["clientWidth"] or bool(r["clippedMath"])
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
