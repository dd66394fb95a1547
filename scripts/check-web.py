#!/usr/bin/env python3
"""Checks the web console's files (web/) keep to its Content-Security-Policy
and its rule that data never becomes markup (docs/console.md "Security").

usage: check-web.py [WEB_DIR]    (default: web/ beside this script's folder)

Refused, with the file and line named:
  - in JavaScript: innerHTML, outerHTML, insertAdjacentHTML, document.write,
    eval(, new Function, setTimeout/setInterval with a string, javascript: URLs;
  - in HTML: an inline <script> (one without src), <style>, style= or on*=
    attributes, javascript: URLs;
  - anywhere: an http:// or https:// address other than the SVG namespace
    (the console fetches nothing from another host).
Exit status 1 when anything is found. Cheap: meant for every test run.
"""
import os
import re
import sys

JS_BANNED = [
    (re.compile(r"\.(innerHTML|outerHTML)\b"), "innerHTML/outerHTML: build nodes with h() and textContent"),
    (re.compile(r"\binsertAdjacentHTML\b"), "insertAdjacentHTML"),
    (re.compile(r"\bdocument\.write(ln)?\b"), "document.write"),
    (re.compile(r"(?<![\w.])eval\s*\("), "eval (the CSP forbids it)"),
    (re.compile(r"\bnew\s+Function\b"), "new Function (the CSP forbids it)"),
    (re.compile(r"\bset(Timeout|Interval)\s*\(\s*['\"`]"), "a timer with a string (eval)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]
HTML_BANNED = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script> (the CSP allows only files)"),
    (re.compile(r"<style\b", re.I), "a <style> element (the CSP allows only app.css)"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute (the CSP forbids inline styles)"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on*= handler attribute (inline script)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]
REMOTE = re.compile(r"https?://(?!www\.w3\.org/2000/svg)[^\s'\"`)]+")


def strip_comment(line):
    """The line without a // comment (a rough cut: not inside strings)."""
    i = line.find("//")
    while i >= 0:
        if i == 0 or line[i - 1] not in ":\\":
            return line[:i]
        i = line.find("//", i + 2)
    return line


def check(path, rel):
    problems = []
    ext = os.path.splitext(path)[1]
    rules = JS_BANNED if ext in (".js", ".mjs") else HTML_BANNED if ext == ".html" else []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            code = strip_comment(line) if ext in (".js", ".mjs") else line
            for rx, why in rules:
                if rx.search(code):
                    problems.append(f"{rel}:{n}: {why}: {line.strip()[:100]}")
            m = REMOTE.search(code)
            if m:
                problems.append(f"{rel}:{n}: a remote address ({m.group(0)}): the console loads nothing from elsewhere")
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), "web")
    problems = []
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith("~"):
                continue
            full = os.path.join(dirpath, name)
            count += 1
            problems += check(full, os.path.relpath(full, root))
    for p in problems:
        print(p)
    print(f"check-web: {count} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
