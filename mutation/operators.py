"""What `make mutation` adds to cosmic-ray's own operators, and what it leaves out.

- `DeleteStatement` replaces with `pass` a call made for its effect (`os.fsync(fd)`),
  a `raise`, or a `return` guarded by an `if`: the mutants that show whether a test
  notices a missing fsync, a swallowed error or a check that no longer stops anything.
- `in_annotation` says whether a mutant's position lies in a type annotation: with
  `from __future__ import annotations` those are never executed, so no test can kill
  them; the driver skips them instead of listing them one by one.
- `function_lines` gives the lines of some functions of a module, for a module of which
  only part is under test (the mail outbox, not the composing of its messages).
"""

from __future__ import annotations

import ast

from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Keyword

PROVIDER = "ami"


def _is_effect_call(node) -> bool:
    """A statement that is a bare call: `name(...)` or `a.b(...)`."""
    if node.type not in ("atom_expr", "power") or node.parent.type != "simple_stmt":
        return False
    last = node.children[-1]
    return last.type == "trailer" and last.children[0].value == "("


def _is_statement(node, keyword: str) -> bool:
    """`return …` / `raise …` (a node), or a bare `return` / `raise` (a keyword leaf)."""
    if node.type == f"{keyword}_stmt":
        return True
    return node.type == "keyword" and node.value == keyword and node.parent.type == "simple_stmt"


def _is_guarded_return(node) -> bool:
    """A `return` whose block belongs to an `if` (an early exit under a condition)."""
    if not _is_statement(node, "return"):
        return False
    block = node.parent.parent  # simple_stmt -> suite (or the if_stmt itself, one-liners)
    owner = block.parent if block.type == "suite" else block
    return owner is not None and owner.type == "if_stmt"


class DeleteStatement(Operator):
    """Replace an effect-only call, a `raise` or a guarded `return` with `pass`."""

    def mutation_positions(self, node):
        if _is_effect_call(node) or _is_statement(node, "raise") or _is_guarded_return(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        first = node.get_first_leaf() if hasattr(node, "children") else node
        return Keyword("pass", node.start_pos, prefix=first.prefix)

    @classmethod
    def examples(cls):
        return (
            Example("os.fsync(fd)\n", "pass\n"),
            Example("if x:\n    raise E\n", "if x:\n    pass\n"),
            Example("if x:\n    return 1\n", "if x:\n    pass\n"),
            Example("if x:\n    return\n", "if x:\n    pass\n"),
        )


OPERATORS = {"DeleteStatement": DeleteStatement}


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) of every annotation, as (line, column in characters) like parso's."""
    lines = source.splitlines()

    def position(line: int, byte_column: int) -> tuple[int, int]:
        return line, len(lines[line - 1].encode("utf-8")[:byte_column].decode("utf-8"))

    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                     arguments.vararg, arguments.kwarg]
            annotations = [arg.annotation for arg in every if arg is not None] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        for annotation in annotations:
            if annotation is not None:
                spans.append((position(annotation.lineno, annotation.col_offset),
                              position(annotation.end_lineno, annotation.end_col_offset)))
    return spans


def in_annotation(spans, start: tuple[int, int]) -> bool:
    return any(begin <= start < end for begin, end in spans)


def function_lines(source: str, names: list[str]) -> set[int]:
    """The lines of the module-level functions `names` (decorators and signature included)."""
    found = {node.name: node for node in ast.parse(source).body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names}
    missing = sorted(set(names) - set(found))
    if missing:
        raise SystemExit(f"no such function in the module: {', '.join(missing)}")
    return {line for node in found.values()
            for line in range(min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno + 1)}
