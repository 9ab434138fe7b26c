"""Formulas over trend series: ``A / B * 100``, numbers, + - * /, unary minus and parentheses.

Parsed once with Python's own parser and checked against a whitelist of node types, so a formula
can never call or reach anything. Division by zero gives 0, as a chart of a ratio expects.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)


class FormulaError(ValueError):
    pass


def formula_parse(text: str, *, names: set[str]) -> ast.Expression:
    """The checked expression tree, or FormulaError saying what is not allowed."""
    if len(text) > 200:
        raise FormulaError("a formula has at most 200 characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise FormulaError(f"cannot read {text!r}; write e.g. 'A / B * 100'.") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise FormulaError(f"unknown series {node.id!r}; the series are {', '.join(sorted(names))}.")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError("only numbers and series names may appear in a formula.")
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINARY):
                raise FormulaError("a formula may use + - * / and parentheses only.")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                raise FormulaError("a formula may use + - * / and parentheses only.")
        elif not isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
            raise FormulaError("a formula may use series names, numbers, + - * / and parentheses only.")
    return tree


def formula_eval(tree: ast.Expression, values: Mapping[str, float]) -> float:
    return float(_eval(tree.body, values))


def _eval(node: ast.expr, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Name):
        return float(values.get(node.id, 0))
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)  # formula_parse let numbers only through
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, values), _eval(node.right, values)
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right if right else 0.0
