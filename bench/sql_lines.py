"""Lines of hand-written SQL in the apps: `make sql-lines` (or `python bench/sql_lines.py`).

Counts, in the Python files of `hierarchy/`, `plans/`, `notifications/` and `okrplan/`
(migrations left out: Django writes those, and a migration's `RunSQL` is schema, not a
data path), two kinds of line:

- every line of a string literal (plain, f-string, concatenated piece) whose text holds
  an SQL keyword in capitals as a word: SELECT, INSERT, UPDATE, DELETE, JOIN, WHERE,
  FROM, SET, VALUES, RETURNING, LOCK, WITH … AS (docstrings left out: prose that names
  `SELECT … FOR UPDATE` is not a statement);
- every line of a call that sends SQL by hand, `.execute(`, `.executemany(`, `.raw(`,
  `.extra(` or `RawSQL(`, when no string of the first kind is on it already (a statement
  built elsewhere and passed in; a management command's `super().execute(` is not).

Comments are not counted, nor the ORM. Prints each file's count (and its length), then
the total; with `--lines`, every counted line. `python bench/sql_lines.py /work/main`
counts another checkout.
"""

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("hierarchy", "plans", "notifications", "okrplan")
KEYWORDS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|JOIN|WHERE|FROM|SET|VALUES|RETURNING|LOCK)\b"
    r"|\bWITH\s+\w+\s+AS\b"
)
CALLS = {"execute", "executemany", "raw", "extra"}


def _docstrings(tree: ast.AST) -> set[int]:
    """Start lines of the string expressions standing alone (docstrings)."""
    out = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            out.add(node.value.lineno)
    return out


def _sql_calls(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        on_super = (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and getattr(func.value.func, "id", "") == "super"
        )  # a management command's own `execute`
        if (isinstance(func, ast.Attribute) and name in CALLS and not on_super) or name == "RawSQL":
            lines.add(node.lineno)
    return lines


def file_lines(path: Path) -> set[int]:
    """The counted line numbers of one file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    inside_fstring = {
        id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
    }
    lines: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in inside_fstring:
            continue  # counted with its f-string
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.lineno in docstrings:
                continue
            text = node.value
        else:
            continue
        if KEYWORDS.search(text):
            lines.update(range(node.lineno, node.end_lineno + 1))
    lines |= _sql_calls(tree)
    # a comment between the pieces of a concatenated statement is not SQL
    text = path.read_text().splitlines()
    return {n for n in lines if text[n - 1].strip() and not text[n - 1].lstrip().startswith("#")}


def count(root: Path = ROOT) -> dict[str, list[int]]:
    """Relative path → its counted lines, for the files that have any."""
    out = {}
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            lines = file_lines(path)
            if lines:
                out[str(path.relative_to(root))] = sorted(lines)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", action="store_true", help="print every counted line")
    parser.add_argument("root", nargs="?", default=str(ROOT), help="a checkout (default: this)")
    args = parser.parse_args()
    root = Path(args.root).resolve()
    files = count(root)
    for name, lines in sorted(files.items(), key=lambda item: -len(item[1])):
        length = len((root / name).read_text().splitlines())
        print(f"{len(lines):5}  {name} (of {length} lines)")
        if args.lines:
            text = (root / name).read_text().splitlines()
            for n in lines:
                print(f"       {n:5}: {text[n - 1].strip()}")
    total = sum(len(lines) for lines in files.values())
    print(f"{total:5}  lines of hand-written SQL in {len(files)} files ({', '.join(APPS)})")


if __name__ == "__main__":
    sys.exit(main())
