"""Fail when any modules of ``app`` import each other in a cycle.

import-linter's layers contracts check the layers we name; this checks everything
else: it builds the import graph of ``app`` with grimp (import-linter's own graph
builder, so it sees exactly what the contracts see, including imports inside
functions and under ``TYPE_CHECKING``) and looks for strongly connected components.
A function-level "lazy" import that only dodges a cycle is still a cycle here.

Run by ``make lint`` (and so by ``make test``): ``python tools/check_import_cycles.py``.
Exit status 0 when there is no cycle, 1 (listing each cycle) when there is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

ROOT = "app"


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports directly."""
    graph = grimp.build_graph(package, cache_dir=None)
    return {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m != module}
        for module in graph.modules
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(edges.get(start, ())))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    found = cycles(import_graph(ROOT))
    if not found:
        print(f"No import cycles in {ROOT}/.")
        return 0
    for component in found:
        print("Import cycle among: " + ", ".join(component))
    return 1


if __name__ == "__main__":
    sys.exit(main())
