"""``watchkeeper check-config FILE``: every problem in a ``.github/watchkeeper.yml``.

The same validation the app runs on every delivery (``runbook.config.validate_text``: the file
merged over the built-in runbook), so a clean result here means the app uses every setting as
written. Exit status: 0 clean, 1 problems found, 2 the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="the config file, e.g. .github/watchkeeper.yml (- reads stdin)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")


def run(args: argparse.Namespace) -> int:
    from watchkeeper.runbook.config import validate_text

    name = "<stdin>" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"watchkeeper check-config: {name}: cannot read ({type(exc).__name__})",
              file=sys.stderr)
        return 2
    problems = validate_text(text, name)
    if args.format == "json":
        print(json.dumps({"file": name, "ok": not problems, "problems": [
            {"line": p.line, "column": p.column, "message": p.message, "hint": p.hint}
            for p in problems]}, indent=2))
    elif not problems:
        print(f"{name}: no problems")
    else:
        for p in problems:
            where = name if p.line is None else f"{name}:{p.line}" + (
                f":{p.column}" if p.column is not None else "")
            print(f"{where}: {' '.join(p.message.split())}")
            if p.hint:
                print(f"    hint: {' '.join(p.hint.split())}")
        print(f"{name}: {len(problems)} problem(s); each affected section would fall back "
              "to the built-in runbook (or the organisation's settings)")
    return 1 if problems else 0
