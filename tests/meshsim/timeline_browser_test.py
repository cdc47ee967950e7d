#!/usr/bin/env python3
"""ctest meshsim.timeline.browser: `meshsim timeline` renders in headless Chromium.

usage: timeline_browser_test.py MESHSIM SCENARIO WORKDIR [SEED]

1. `meshsim timeline SCENARIO --seed N --html F`; parse the JSON embedded in F
   (<script type="application/json" id="meshsim-data">);
2. `meshsim run SCENARIO --seed N --trace T`; count the Chrome trace's events
   (sends, delivers, drops, duplicates, crashes, flow starts/finishes,
   violations) and check the embedded data has the same counts;
3. `chromium --headless --dump-dom file://F`; the dumped DOM must hold the
   summary line the page's JavaScript computes ("meshsim timeline: N nodes,
   M messages, K drops, V violations", in <title> and #summary) with the same
   numbers, and no #meshsim-error (the page's window.onerror marker).

Exit 0 pass, 1 fail, 77 (ctest SKIP_RETURN_CODE) when chromium is missing.
"""
import html as htmlmod
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77
WORLD_TID = 1000000


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def find_chromium():
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def embedded_data(page):
    m = re.search(r'<script type="application/json" id="meshsim-data">(.*?)</script>', page, re.S)
    if not m:
        fail("no meshsim-data script element in the page")
    return json.loads(m.group(1))


def chrome_counts(trace):
    c = {"send": 0, "deliver": 0, "drop": 0, "duplicate": 0, "corrupt": 0, "node_crash": 0, "node_restart": 0,
         "node_pause": 0, "violation": 0, "flow_s": 0, "flow_f": 0}
    for ev in trace["traceEvents"]:
        ph = ev.get("ph")
        if ph == "s":
            c["flow_s"] += 1
        elif ph == "f":
            c["flow_f"] += 1
        elif ph in ("X", "i") and ev.get("tid") != WORLD_TID:  # world-track copies are mirrors
            name = ev.get("name")
            if ev.get("cat") == "violation":
                c["violation"] += 1
            elif name in c:
                c[name] += 1
    return c


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    meshsim, scenario, workdir = sys.argv[1:4]
    seed = sys.argv[4] if len(sys.argv) > 4 else "1"
    chromium = find_chromium()
    if not chromium:
        print("SKIPPED: chromium not installed (apt-get install chromium; tools/dev.sh installs it)")
        return SKIP
    os.makedirs(workdir, exist_ok=True)
    page_path = os.path.join(workdir, "timeline.html")
    trace_path = os.path.join(workdir, "trace.json")

    t0 = time.monotonic()
    out = subprocess.run([meshsim, "timeline", scenario, "--seed", seed, "--html", page_path],
                         capture_output=True, text=True, timeout=300)
    gen_s = time.monotonic() - t0
    print(out.stdout, end="")
    timeline_stdout = out.stdout
    if out.returncode not in (0, 1):
        fail("meshsim timeline exited %d: %s" % (out.returncode, out.stderr))
    with open(page_path, encoding="utf-8") as f:
        page = f.read()
    data = embedded_data(page)

    out = subprocess.run([meshsim, "run", scenario, "--seed", seed, "--trace", trace_path],
                         capture_output=True, text=True, timeout=300)
    if out.returncode not in (0, 1):
        fail("meshsim run exited %d: %s" % (out.returncode, out.stderr))
    with open(trace_path, encoding="utf-8") as f:
        cc = chrome_counts(json.load(f))

    counts = data["counts"]
    pairs = [("sends", "send"), ("delivers", "deliver"), ("drops", "drop"), ("duplicates", "duplicate"),
             ("corrupts", "corrupt"), ("crashes", "node_crash"), ("restarts", "node_restart"),
             ("pauses", "node_pause"), ("violations", "violation"), ("messages", "flow_s")]
    for mine, theirs in pairs:
        if counts[mine] != cc[theirs]:
            fail("timeline counts.%s = %d but the Chrome trace has %d %s" % (mine, counts[mine], cc[theirs], theirs))
    msgs = data["msgs"]
    ended = sum(1 for f in msgs["fate"] if f != 2)
    if not data["truncated"] and ended != cc["flow_f"]:
        fail("timeline has %d ended messages, the Chrome trace %d flow finishes" % (ended, cc["flow_f"]))
    if len(msgs["t0"]) != counts["messages"] and not data["truncated"]:
        fail("msgs rows %d != counts.messages %d" % (len(msgs["t0"]), counts["messages"]))

    expected = "meshsim timeline: %d nodes, %d messages, %d drops, %d violations" % (
        data["nodes"], counts["messages"], counts["drops"], len(data["violations"]))
    if expected not in timeline_stdout:
        fail("meshsim timeline did not print %r" % expected)

    with tempfile.TemporaryDirectory(prefix="meshsim-chromium-") as profile:
        cmd = ["timeout", "60", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--user-data-dir=" + profile, "--window-size=1400,900",
               "--dump-dom", "file://" + os.path.abspath(page_path)]
        t0 = time.monotonic()
        br = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
        render_s = time.monotonic() - t0
    dom = br.stdout
    if br.returncode != 0 or not dom:
        fail("chromium exited %d, stderr:\n%s" % (br.returncode, br.stderr[-3000:]))
    if 'id="meshsim-error"' in dom:
        m = re.search(r'id="meshsim-error"[^>]*>(.*?)</pre>', dom, re.S)
        fail("the page reported a JavaScript error: " + (htmlmod.unescape(m.group(1)) if m else "?"))
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    if not title or htmlmod.unescape(title.group(1)) != expected:
        fail("rendered <title> is %r, expected %r" % (title.group(1) if title else None, expected))
    summary = re.search(r'<div id="summary">(.*?)</div>', dom, re.S)
    if not summary or htmlmod.unescape(summary.group(1)) != expected:
        fail("rendered #summary is %r, expected %r" % (summary.group(1) if summary else None, expected))
    status = re.search(r"rendered: (\d+) of (\d+) messages in view", dom)
    if not status or int(status.group(1)) == 0 or int(status.group(2)) != len(msgs["t0"]):
        fail("render status missing or drew nothing: %r" % (status.group(0) if status else None))
    print("PASS: %s; page %d bytes, generated in %.2f s, rendered by chromium in %.2f s (%s)" % (
        expected, len(page.encode("utf-8")), gen_s, render_s, status.group(0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
