"""Compile a checked expr tree into nested Python closures (no ``eval``/``exec``).

Every compiled node is a function ``fn(result, state) -> value``. ``state`` is ``None`` for simple
programs; programs with predicates, ``let``, ranges or literal collections get a per-run list
``[memory_used, steps, slot...]`` holding loop variables and expr's memory budget.

Speed comes from knowing the *Python* type a node is guaranteed to produce (``rt``): literals, the
``result`` value (its type is the cache key of the specialisation) and elements of a
``Float64Slice`` have exact types, so ``result[0] < 0.05`` compiles to one closure doing an index
and a float comparison. Where types are not guaranteed (expr's static types can be wrong at run
time, e.g. ``first([])`` is nil although typed float64) the Go-faithful generic operations of
:mod:`flightdeck.expr.runtime` are used.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flightdeck.expr import ast
from flightdeck.expr import runtime as rtm
from flightdeck.expr import types as ty
from flightdeck.expr.builtins import BUILTINS, elements_of
from flightdeck.expr.builtins_names import BUILTIN_NAMES
from flightdeck.expr.checker import Checked
from flightdeck.expr.env import ENV_FUNCS, RESULT
from flightdeck.expr.errors import ExprError
from flightdeck.expr.numbers import wrap_int
from flightdeck.expr.regex import compile_regex
from flightdeck.expr.values import AnyMap, Float64Slice, GoFunc, Int64, IntSlice, StringSlice, go_type_name

Fn = Callable[[Any, Any], Any]
OUT_OF_RANGE = "reflect: slice index out of range"
STEP_MESSAGE = f"evaluation exceeded {rtm.STEP_BUDGET} predicate iterations (a flightdeck safety limit)"

_ELEM_RT: dict[type, type] = {Float64Slice: float, IntSlice: int, StringSlice: str}
_LIST_TYPES = frozenset({list, Float64Slice, IntSlice, StringSlice})
_NUM_RT = frozenset({int, float, Int64})
_INT_RT = frozenset({int, Int64})
_LITERALS = (ast.IntegerNode, ast.FloatNode, ast.StringNode, ast.BoolNode)
_BUILTIN_SET = frozenset(BUILTIN_NAMES)

_CMP_PY: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_CMP_GO: dict[str, Callable[[Any, Any], bool]] = {
    "<": rtm.less,
    ">": rtm.more,
    "<=": rtm.less_or_equal,
    ">=": rtm.more_or_equal,
}
_ARITH_GO: dict[str, Callable[[Any, Any], Any]] = {
    "+": rtm.add,
    "-": rtm.subtract,
    "*": rtm.multiply,
    "/": rtm.divide,
    "%": rtm.modulo,
    "**": rtm.exponent,
    "^": rtm.exponent,
}


class _ChainNil(Exception):
    """Raised by ``a?.b`` when ``a`` is nil; caught by the enclosing chain, which yields nil."""


@dataclass(slots=True)
class Code:
    fn: Fn
    rt: type | None = None  # the exact Python type the value is guaranteed to have
    const: bool = False
    value: Any = None
    literal: ast.Node | None = None  # the literal node expr's constant folder would see
    is_result: bool = False
    result_index: int | None = None  # fn is `result[result_index]`


def _const(value: Any, literal: ast.Node | None = None) -> Code:
    return Code(lambda r, s: value, type(value), True, value, literal)


def _literal(value: Any) -> Code:
    node: ast.Node
    if isinstance(value, bool):
        node = ast.BoolNode(value)
    elif isinstance(value, int):
        node = ast.IntegerNode(value)
    elif isinstance(value, float):
        node = ast.FloatNode(value)
    else:
        node = ast.StringNode(value)
    return _const(value, node)


def _lit_value(code: Code, *kinds: type) -> Any:
    """The value of a foldable literal of one of the given node kinds, else None."""
    if code.literal is not None and isinstance(code.literal, kinds):
        return code.value
    return None


@dataclass
class _Pred:
    slots: dict[str, int]
    elem_rt: type | None


class Compiler:
    def __init__(self, checked: Checked, result_rt: type) -> None:
        self.checked = checked
        self.result_rt = result_rt
        self.nslots = 0
        self.needs_state = False
        self.preds: list[_Pred] = []
        self.vars: list[tuple[str, int, type | None]] = []

    def alloc(self) -> int:
        self.needs_state = True
        self.nslots += 1
        return 1 + self.nslots  # state[0] is memory, state[1] is steps

    def type_of(self, node: ast.Node) -> ty.T:
        return self.checked.types.get(id(node))

    def compile(self, node: ast.Node) -> Code:
        method: Callable[[Any], Code] = getattr(self, "c_" + type(node).__name__)
        return method(node)

    # -- leaves
    def c_NilNode(self, node: ast.NilNode) -> Code:
        return _const(None)

    def c_IntegerNode(self, node: ast.IntegerNode) -> Code:
        if id(node) in self.checked.as_float:
            return _literal(float(node.value))
        return _literal(node.value)

    def c_FloatNode(self, node: ast.FloatNode) -> Code:
        return _literal(node.value)

    def c_BoolNode(self, node: ast.BoolNode) -> Code:
        return _literal(node.value)

    def c_StringNode(self, node: ast.StringNode) -> Code:
        return _literal(node.value)

    def c_ConstantNode(self, node: ast.ConstantNode) -> Code:
        return _const(node.value)

    def c_IdentifierNode(self, node: ast.IdentifierNode) -> Code:
        name = node.value
        for var, slot, rt in reversed(self.vars):
            if var == name:
                return _slot_reader(slot, rt)
        if name == "$env":
            return Code(_env_map)
        if name == RESULT:
            return Code(lambda r, s: r, self.result_rt, is_result=True)
        if name in _BUILTIN_SET:
            return _const(None)  # expr loads a builtin's name from the env map: nil
        if name in ENV_FUNCS:
            return _const(ENV_FUNCS[name].as_value())
        return _const(None)  # only reachable for sub-trees expr never type-checks

    def c_PointerNode(self, node: ast.PointerNode) -> Code:
        pred = self.preds[-1]
        slot = pred.slots[node.name]
        rt = pred.elem_rt if node.name == "" else (int if node.name == "index" else None)
        return Code(lambda r, s: s[slot], rt)

    # -- operators
    def c_UnaryNode(self, node: ast.UnaryNode) -> Code:
        x = self.compile(node.node)
        op = node.operator
        f = x.fn
        if op in ("!", "not"):
            if (v := _lit_value(x, ast.BoolNode)) is not None:
                return _literal(not v)
            if x.rt is bool:
                return Code(lambda r, s: not f(r, s), bool)
            return Code(lambda r, s: not rtm.as_bool(f(r, s)), bool)
        if op == "+":
            if (v := _lit_value(x, ast.IntegerNode, ast.FloatNode)) is not None:
                return _literal(v)
            return x
        if (v := _lit_value(x, ast.IntegerNode, ast.FloatNode)) is not None:
            return _literal(-v if isinstance(v, float) else wrap_int(-v))
        if x.rt is float:
            return Code(lambda r, s: -f(r, s), float)
        return Code(lambda r, s: rtm.negate(f(r, s)), int if x.rt in _INT_RT else None)

    def c_BinaryNode(self, node: ast.BinaryNode) -> Code:
        op = node.operator
        if op == "in":
            return self.compile_in(node)
        left = self.compile(node.left)
        if op in ("&&", "and", "||", "or"):
            return self.compile_logic(op, left, self.compile(node.right))
        if op == "??":
            return self.compile_coalesce(left, self.compile(node.right))
        right = self.compile(node.right)
        folded = _fold(op, left, right)
        if folded is not None:
            return folded
        if op in _CMP_PY:
            return _compile_compare(op, left, right)
        if op in ("==", "!="):
            return _compile_equal(op == "!=", left, right)
        if op in _ARITH_GO:
            return _compile_arith(op, left, right)
        if op == "matches":
            return self.compile_matches(node, left, right)
        if op in ("contains", "startsWith", "endsWith"):
            return _compile_string_op(op, left, right)
        if op == "..":
            return self.compile_range(left, right)
        raise ExprError(f"unknown operator ({op})")

    def compile_logic(self, op: str, left: Code, right: Code) -> Code:
        is_and = op in ("&&", "and")
        lv = _lit_value(left, ast.BoolNode)
        rv = _lit_value(right, ast.BoolNode)
        # expr's constant folder: `true && x` is x, `x && false` is false (x is never evaluated)
        if is_and:
            if lv is True:
                return right
            if rv is True:
                return left
            if lv is False or rv is False:
                return _literal(False)
        else:
            if lv is False:
                return right
            if rv is False:
                return left
            if lv is True or rv is True:
                return _literal(True)
        lf, rf = left.fn, right.fn
        if left.rt is bool and right.rt is bool:
            if is_and:
                return Code(lambda r, s: lf(r, s) and rf(r, s), bool)
            return Code(lambda r, s: lf(r, s) or rf(r, s), bool)

        def logic(r: Any, s: Any) -> Any:
            a = rtm.as_bool(lf(r, s))
            if a is not is_and:
                return a
            return rf(r, s)

        return Code(logic, bool if right.rt is bool else None)

    def compile_coalesce(self, left: Code, right: Code) -> Code:
        lf, rf = left.fn, right.fn

        def coalesce(r: Any, s: Any) -> Any:
            a = lf(r, s)
            return rf(r, s) if a is None else a

        return Code(coalesce, left.rt if left.rt is not None and left.rt is right.rt else None)

    def compile_matches(self, node: ast.BinaryNode, left: Code, right: Code) -> Code:
        pattern = self.checked.regexps.get(id(node))
        lf, rf = left.fn, right.fn
        if pattern is not None:
            search = pattern.search
            return Code(lambda r, s: search(rtm.as_str(lf(r, s))) is not None, bool)

        def matches(r: Any, s: Any) -> bool:
            a = lf(r, s)
            b = rtm.as_str(rf(r, s))
            return compile_regex(b).search(rtm.as_str(a)) is not None

        return Code(matches, bool)

    def compile_range(self, left: Code, right: Code) -> Code:
        lo = _lit_value(left, ast.IntegerNode)
        hi = _lit_value(right, ast.IntegerNode)
        if lo is not None and hi is not None and hi - lo + 1 <= rtm.MEMORY_BUDGET:
            # expr precomputes literal ranges of up to 1e6 elements (they cost no budget at run time)
            cache: list[IntSlice] = []

            def literal_range(r: Any, s: Any) -> IntSlice:
                if not cache:
                    cache.append(IntSlice(range(lo, hi + 1)))
                return cache[0]

            return Code(literal_range, IntSlice)
        self.needs_state = True
        lf, rf = left.fn, right.fn
        return Code(lambda r, s: rtm.make_range(lf(r, s), rf(r, s), s), IntSlice)

    def compile_in(self, node: ast.BinaryNode) -> Code:
        left_type = self.type_of(node.left)
        right_node = node.right
        left = self.compile(node.left)
        lf = left.fn
        if (
            ty.kind(left_type) is ty.Kind.INT
            and isinstance(right_node, ast.BinaryNode)
            and right_node.operator == ".."
            and isinstance(right_node.left, ast.IntegerNode)
            and isinstance(right_node.right, ast.IntegerNode)
        ):
            # expr rewrites `x in 1..9` into `x >= 1 and x <= 9` when x is an int
            lo, hi = right_node.left.value, right_node.right.value

            def in_range(r: Any, s: Any) -> bool:
                x = lf(r, s)
                return rtm.more_or_equal(x, lo) and rtm.less_or_equal(x, hi)

            return Code(in_range, bool)
        if isinstance(right_node, ast.ArrayNode) and right_node.nodes:
            ints = ty.kind(left_type) is ty.Kind.INT and all(
                isinstance(n, ast.IntegerNode) for n in right_node.nodes
            )
            strings = all(isinstance(n, ast.StringNode) for n in right_node.nodes)
            if ints or strings:
                # expr turns a literal list into a Go map; lookups then need the key's exact type
                values = frozenset(n.value for n in right_node.nodes)  # type: ignore[attr-defined]
                key_type: type = int if ints else str
                zero: Any = 0 if ints else ""
                key_name = "int" if ints else "string"

                def in_set(r: Any, s: Any) -> bool:
                    x = lf(r, s)
                    if x is None:
                        x = zero
                    elif type(x) is not key_type:
                        raise ExprError(
                            f"reflect.Value.MapIndex: value of type {go_type_name(x)} "
                            f"is not assignable to type {key_name}"
                        )
                    return x in values

                return Code(in_set, bool)
        right = self.compile(right_node)
        rf = right.fn
        return Code(lambda r, s: rtm.in_(lf(r, s), rf(r, s)), bool)

    def c_ChainNode(self, node: ast.ChainNode) -> Code:
        inner = self.compile(node.node).fn

        def chain(r: Any, s: Any) -> Any:
            try:
                return inner(r, s)
            except _ChainNil:
                return None

        return Code(chain)

    def c_MemberNode(self, node: ast.MemberNode) -> Code:
        base = self.compile(node.node)
        prop = self.compile(node.property)
        bf, pf = base.fn, prop.fn
        optional = node.optional
        if not optional and prop.const and prop.rt is int and base.rt in _LIST_TYPES:
            i = prop.value
            elem_rt = _ELEM_RT.get(base.rt)
            if base.is_result:

                def result_index(r: Any, s: Any) -> Any:
                    try:
                        return r[i]
                    except IndexError:
                        raise ExprError(OUT_OF_RANGE) from None

                return Code(result_index, elem_rt, result_index=i)

            def const_index(r: Any, s: Any) -> Any:
                try:
                    return bf(r, s)[i]
                except IndexError:
                    raise ExprError(OUT_OF_RANGE) from None

            return Code(const_index, elem_rt)
        if not optional and prop.const and prop.rt is str and base.rt is dict:
            key = prop.value
            return Code(lambda r, s: bf(r, s).get(key))

        def member(r: Any, s: Any) -> Any:
            b = bf(r, s)
            if b is None and optional:
                raise _ChainNil
            return rtm.fetch(b, pf(r, s))

        return Code(member)

    def c_SliceNode(self, node: ast.SliceNode) -> Code:
        bf = self.compile(node.node).fn
        tf = self.compile(node.to).fn if node.to is not None else None
        ff = self.compile(node.from_).fn if node.from_ is not None else None

        def slice_(r: Any, s: Any) -> Any:
            b = bf(r, s)
            to = tf(r, s) if tf is not None else rtm.length(b)
            from_ = ff(r, s) if ff is not None else 0
            return rtm.slice_value(b, from_, to)

        return Code(slice_)

    # -- calls
    def c_CallNode(self, node: ast.CallNode) -> Code:
        callee = node.callee
        shadowed = isinstance(callee, ast.IdentifierNode) and any(v == callee.value for v, _, _ in self.vars)
        if isinstance(callee, ast.IdentifierNode) and not shadowed:
            if callee.value in _BUILTIN_SET:
                return self.compile_builtin(callee.value, node.arguments)
            if callee.value in ENV_FUNCS:
                return self.compile_env_call(callee.value, node.arguments)
        cf = self.compile(callee).fn
        arg_fns = [self.compile(a).fn for a in node.arguments]

        def call(r: Any, s: Any) -> Any:
            fn = cf(r, s)
            args = [f(r, s) for f in arg_fns]
            if isinstance(fn, GoFunc) and fn.fn is not None:
                try:
                    return fn.fn(r, *args)
                except TypeError:
                    raise ExprError("reflect: Call with wrong number of input arguments") from None
            kind = "zero" if fn is None else go_type_name(fn)
            raise ExprError(f"reflect: call of reflect.Value.Call on {kind} Value")

        return Code(call)

    def compile_env_call(self, name: str, arguments: list[ast.Node]) -> Code:
        impl = ENV_FUNCS[name].impl
        args = [self.compile(a) for a in arguments]
        fns = [a.fn for a in args]
        if name in ("isNaN", "isInf") and args[0].rt is float:
            check = math.isnan if name == "isNaN" else math.isinf
            f0 = fns[0]
            return Code(lambda r, s: check(f0(r, s)), bool)
        if name == "isNil":
            f0 = fns[0]

            def is_nil(r: Any, s: Any) -> bool:
                f0(r, s)  # evaluated for its errors, like Go does, then ignored
                return r is None

            return Code(is_nil, bool)
        rt = {"isNaN": bool, "isInf": bool, "asInt": Int64, "asFloat": float}.get(name)
        if len(fns) == 1:
            f0 = fns[0]
            return Code(lambda r, s: impl(r, f0(r, s)), rt)
        return Code(lambda r, s: impl(r, *[f(r, s) for f in fns]), rt)

    def c_BuiltinNode(self, node: ast.BuiltinNode) -> Code:
        if node.name in _PREDICATE_BUILDERS:
            return self.compile_predicate(node)
        return self.compile_builtin(node.name, node.arguments)

    def compile_builtin(self, name: str, arguments: list[ast.Node]) -> Code:
        args = [self.compile(a) for a in arguments]
        fns = [a.fn for a in args]
        if name == "len" and len(args) == 1:
            f0 = fns[0]
            if args[0].rt in _LIST_TYPES or args[0].rt is dict:
                return Code(lambda r, s: len(f0(r, s)), int)
            return Code(lambda r, s: rtm.length(f0(r, s)), int)
        impl = BUILTINS[name].impl
        assert impl is not None
        rt = _BUILTIN_RT.get(name)

        def call(r: Any, s: Any) -> Any:
            try:
                return impl(*[f(r, s) for f in fns])
            except TypeError:
                raise ExprError(f"invalid number of arguments for {name}") from None

        if len(fns) == 1:
            f0 = fns[0]
            return Code(lambda r, s: impl(f0(r, s)), rt)
        return Code(call, rt)

    def compile_predicate(self, node: ast.BuiltinNode) -> Code:
        name = node.name
        collection = self.compile(node.arguments[0])
        slots = {"": self.alloc()}
        if name in ("map", "reduce"):
            slots["index"] = self.alloc()
        if name == "reduce":
            slots["acc"] = self.alloc()
        self.preds.append(_Pred(slots, _ELEM_RT.get(collection.rt) if collection.rt else None))
        closure = node.arguments[1]
        body = self.compile(closure.node if isinstance(closure, ast.ClosureNode) else closure)
        self.preds.pop()
        initial = self.compile(node.arguments[2]).fn if len(node.arguments) == 3 else None
        builder = _PREDICATE_BUILDERS[name]
        return builder(collection.fn, body.fn, slots, initial)

    # -- declarations, conditionals, literals
    def c_VariableDeclaratorNode(self, node: ast.VariableDeclaratorNode) -> Code:
        value = self.compile(node.value)
        slot = self.alloc()
        self.vars.append((node.name, slot, value.rt))
        body = self.compile(node.expr)
        self.vars.pop()
        vf, bf = value.fn, body.fn

        def let(r: Any, s: Any) -> Any:
            s[slot] = vf(r, s)
            return bf(r, s)

        return Code(let, body.rt)

    def c_ConditionalNode(self, node: ast.ConditionalNode) -> Code:
        cond = self.compile(node.cond)
        e1 = self.compile(node.exp1)
        e2 = self.compile(node.exp2)
        cf, f1, f2 = cond.fn, e1.fn, e2.fn
        rt = e1.rt if e1.rt is e2.rt else None
        if cond.rt is bool:
            return Code(lambda r, s: f1(r, s) if cf(r, s) else f2(r, s), rt)
        return Code(lambda r, s: f1(r, s) if rtm.as_bool(cf(r, s)) else f2(r, s), rt)

    def c_ArrayNode(self, node: ast.ArrayNode) -> Code:
        items = [self.compile(n) for n in node.nodes]
        if items and all(i.literal is not None for i in items):
            return _const([i.value for i in items])  # expr folds literal arrays into constants
        self.needs_state = True
        fns = [i.fn for i in items]
        size = len(fns)

        def array(r: Any, s: Any) -> list[Any]:
            out = [f(r, s) for f in fns]
            rtm.charge(s, size)
            return out

        return Code(array, list)

    def c_MapNode(self, node: ast.MapNode) -> Code:
        self.needs_state = True
        pairs = [(self.compile(p.key).fn, self.compile(p.value).fn) for p in node.pairs]
        size = len(pairs)

        def map_(r: Any, s: Any) -> dict[str, Any]:
            values = [(kf(r, s), vf(r, s)) for kf, vf in pairs]
            rtm.charge(s, size)
            return {rtm.type_assert(k, str, "string"): v for k, v in values}

        return Code(map_, dict)

    def c_PairNode(self, node: ast.PairNode) -> Code:  # pragma: no cover - compiled by c_MapNode
        raise ExprError("unexpected pair")

    def c_ClosureNode(self, node: ast.ClosureNode) -> Code:
        return self.compile(node.node)


def _slot_reader(slot: int, rt: type | None) -> Code:
    return Code(lambda r, s: s[slot], rt)


def _env_map(r: Any, s: Any) -> dict[str, Any]:
    env: dict[str, Any] = {RESULT: r}
    for name, fn in ENV_FUNCS.items():
        env[name] = fn.as_value()
    return env


_BUILTIN_RT: dict[str, type] = {
    "type": str,
    "ceil": float,
    "floor": float,
    "round": float,
    "int": int,
    "float": float,
    "string": str,
    "trim": str,
    "trimPrefix": str,
    "trimSuffix": str,
    "upper": str,
    "lower": str,
    "split": StringSlice,
    "splitAfter": StringSlice,
    "replace": str,
    "repeat": str,
    "join": str,
    "indexOf": int,
    "lastIndexOf": int,
    "hasPrefix": bool,
    "hasSuffix": bool,
    "mean": float,
    "median": float,
    "toJSON": str,
    "toBase64": str,
    "fromBase64": str,
}


# -- folding and operator specialisation


def _fold(op: str, left: Code, right: Code) -> Code | None:
    """expr's constant folder for literal operands (it runs after type checking)."""
    nums = (ast.IntegerNode, ast.FloatNode)
    a = _lit_value(left, *nums)
    b = _lit_value(right, *nums)
    if a is not None and b is not None:
        both_int = isinstance(a, int) and isinstance(b, int)
        if op == "+":
            return _literal(wrap_int(a + b) if both_int else float(a) + float(b))
        if op == "-":
            return _literal(wrap_int(a - b) if both_int else float(a) - float(b))
        if op == "*":
            return _literal(wrap_int(a * b) if both_int else float(a) * float(b))
        if op == "/":
            return _literal(rtm.float_div(float(a), float(b)))
        if op in ("**", "^"):
            return _literal(rtm.go_pow(float(a), float(b)))
        if op == "%" and both_int:
            if b == 0:
                raise ExprError("integer divide by zero")
            return _literal(rtm.int_mod(a, b))
        if op == "==" and both_int:
            return _literal(a == b)
    if op == "+":
        sa = _lit_value(left, ast.StringNode)
        sb = _lit_value(right, ast.StringNode)
        if sa is not None and sb is not None:
            return _literal(sa + sb)
    if op == "==":
        for kinds in ((ast.StringNode,), (ast.BoolNode,)):
            x = _lit_value(left, *kinds)
            y = _lit_value(right, *kinds)
            if x is not None and y is not None:
                return _literal(x == y)
    return None


def _numeric_pair(left: Code, right: Code) -> tuple[Code, Code] | None:
    """Both sides are known Python numbers that compare like Go; constants are pre-converted."""
    if left.rt not in _NUM_RT or right.rt not in _NUM_RT:
        return None
    if left.rt is float and right.const and right.rt in _INT_RT:
        return left, _const(float(right.value))
    if right.rt is float and left.const and left.rt in _INT_RT:
        return _const(float(left.value)), right
    if (left.rt is float) != (right.rt is float):
        return None  # mixed int/float at run time: Go converts the int, use the generic path
    return left, right


def _compile_compare(op: str, left: Code, right: Code) -> Code:
    pair = _numeric_pair(left, right)
    if pair is None and left.rt is str and right.rt is str:
        pair = (left, right)
    if pair is None:
        go = _CMP_GO[op]
        lf, rf = left.fn, right.fn
        return Code(lambda r, s: go(lf(r, s), rf(r, s)), bool)
    left, right = pair
    return _specialised(_CMP_PY[op], left, right, bool)


def _specialised(py: Callable[[Any, Any], Any], left: Code, right: Code, rt: type | None) -> Code:
    """``py(left, right)`` for operands whose Python types make ``py`` exactly Go's operator."""
    lf, rf = left.fn, right.fn
    if right.const:
        c = right.value
        if left.result_index is not None:
            i = left.result_index

            def index_const(r: Any, s: Any) -> Any:
                try:
                    x = r[i]
                except IndexError:
                    raise ExprError(OUT_OF_RANGE) from None
                return py(x, c)

            return Code(index_const, rt)
        if left.is_result:
            return Code(lambda r, s: py(r, c), rt)
        return Code(lambda r, s: py(lf(r, s), c), rt)
    if left.const:
        c = left.value
        if right.is_result:
            return Code(lambda r, s: py(c, r), rt)
        return Code(lambda r, s: py(c, rf(r, s)), rt)
    return Code(lambda r, s: py(lf(r, s), rf(r, s)), rt)


def _compile_equal(negate: bool, left: Code, right: Code) -> Code:
    pair = _numeric_pair(left, right)
    if pair is None and left.rt is right.rt and left.rt in (str, bool):
        pair = (left, right)
    if pair is not None:
        return _specialised(operator.ne if negate else operator.eq, *pair, bool)
    lf, rf = left.fn, right.fn
    if negate:
        return Code(lambda r, s: not rtm.equal(lf(r, s), rf(r, s)), bool)
    return Code(lambda r, s: rtm.equal(lf(r, s), rf(r, s)), bool)


_FLOAT_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}


def _compile_arith(op: str, left: Code, right: Code) -> Code:
    go = _ARITH_GO[op]
    if left.rt is float and right.rt is float:
        if op in _FLOAT_ARITH:
            return _specialised(_FLOAT_ARITH[op], left, right, float)
        if op == "/" and right.const and right.value != 0:
            return _specialised(operator.truediv, left, right, float)
        if op == "/":
            return _specialised(rtm.float_div, left, right, float)
    rt: type | None = None
    if op in ("/", "**", "^"):
        rt = float
    elif left.rt in _NUM_RT and right.rt in _NUM_RT:
        rt = float if float in (left.rt, right.rt) else int
        if op == "%":
            rt = int
    return _specialised(go, left, right, rt)


def _compile_string_op(op: str, left: Code, right: Code) -> Code:
    lf, rf = left.fn, right.fn
    method = {"contains": str.__contains__, "startsWith": str.startswith, "endsWith": str.endswith}[op]

    def string_op(r: Any, s: Any) -> bool:
        a = rtm.as_str(lf(r, s))
        return bool(method(a, rtm.as_str(rf(r, s))))

    return Code(string_op, bool)


# -- predicates (all, any, map, reduce …): each builder returns the loop as one closure


def _begin(value: Any, s: list[Any]) -> Any:
    items = elements_of(value)
    s[1] += len(items) + 1
    if s[1] > rtm.STEP_BUDGET:
        raise ExprError(STEP_MESSAGE)
    return items


def _b_all(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]

    def all_(r: Any, s: Any) -> bool:
        for e in _begin(cf(r, s), s):
            s[k] = e
            if not rtm.as_bool(bf(r, s)):
                return False
        return True

    return Code(all_, bool)


def _b_none(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]

    def none_(r: Any, s: Any) -> bool:
        for e in _begin(cf(r, s), s):
            s[k] = e
            if rtm.as_bool(bf(r, s)):
                return False
        return True

    return Code(none_, bool)


def _b_any(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]

    def any_(r: Any, s: Any) -> bool:
        for e in _begin(cf(r, s), s):
            s[k] = e
            if rtm.as_bool(bf(r, s)):
                return True
        return False

    return Code(any_, bool)


def _count_matches(cf: Fn, bf: Fn, k: int, r: Any, s: Any) -> int:
    n = 0
    for e in _begin(cf(r, s), s):
        s[k] = e
        if rtm.as_bool(bf(r, s)):
            n += 1
    return n


def _b_one(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]
    return Code(lambda r, s: _count_matches(cf, bf, k, r, s) == 1, bool)


def _b_count(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]
    return Code(lambda r, s: _count_matches(cf, bf, k, r, s), int)


def _b_filter(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]

    def filter_(r: Any, s: Any) -> list[Any]:
        out = []
        for e in _begin(cf(r, s), s):
            s[k] = e
            if rtm.as_bool(bf(r, s)):
                out.append(e)
        rtm.charge(s, len(out))
        return out

    return Code(filter_, list)


def _b_map(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k, ki = slots[""], slots["index"]

    def map_(r: Any, s: Any) -> list[Any]:
        out = []
        for i, e in enumerate(_begin(cf(r, s), s)):
            s[k] = e
            s[ki] = i
            out.append(bf(r, s))
        rtm.charge(s, len(out))
        return out

    return Code(map_, list)


def _finder(*, last: bool, index: bool) -> Callable[[Fn, Fn, dict[str, int], Fn | None], Code]:
    def build(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
        k = slots[""]

        def find(r: Any, s: Any) -> Any:
            items = _begin(cf(r, s), s)
            order = range(len(items) - 1, -1, -1) if last else range(len(items))
            for i in order:
                s[k] = items[i]
                if rtm.as_bool(bf(r, s)):
                    return i if index else items[i]
            return None

        return Code(find)

    return build


def _b_group_by(cf: Fn, bf: Fn, slots: dict[str, int], _init: Fn | None) -> Code:
    k = slots[""]

    def group_by(r: Any, s: Any) -> AnyMap:
        groups = AnyMap()
        for e in _begin(cf(r, s), s):
            s[k] = e
            key = bf(r, s)
            try:
                groups.setdefault(key, []).append(e)
            except TypeError:
                raise ExprError(f"runtime error: hash of unhashable type {go_type_name(key)}") from None
        return groups

    return Code(group_by, AnyMap)


def _b_reduce(cf: Fn, bf: Fn, slots: dict[str, int], init: Fn | None) -> Code:
    k, ki, ka = slots[""], slots["index"], slots["acc"]

    def reduce_(r: Any, s: Any) -> Any:
        items = _begin(cf(r, s), s)
        start = 0
        if init is not None:
            acc = init(r, s)
        else:
            if not items:
                raise ExprError(OUT_OF_RANGE)
            acc = items[0]
            start = 1
        for i in range(start, len(items)):
            s[k] = items[i]
            s[ki] = i
            s[ka] = acc
            acc = bf(r, s)
        return acc

    return Code(reduce_)


_PREDICATE_BUILDERS: dict[str, Callable[[Fn, Fn, dict[str, int], Fn | None], Code]] = {
    "all": _b_all,
    "none": _b_none,
    "any": _b_any,
    "one": _b_one,
    "count": _b_count,
    "filter": _b_filter,
    "map": _b_map,
    "find": _finder(last=False, index=False),
    "findLast": _finder(last=True, index=False),
    "findIndex": _finder(last=False, index=True),
    "findLastIndex": _finder(last=True, index=True),
    "groupBy": _b_group_by,
    "reduce": _b_reduce,
}


def build_program(code: Code, nslots: int, needs_state: bool) -> Callable[[Any], bool]:
    """Wrap the root closure into ``program(result) -> bool`` with Argo's bool check."""
    fn = code.fn
    is_bool = code.rt is bool
    if not needs_state:
        if is_bool:

            def program(result: Any) -> bool:
                return fn(result, None)  # type: ignore[no-any-return]

            return program

        def checked(result: Any) -> bool:
            v = fn(result, None)
            if v is True or v is False:
                return v
            raise ExprError(f"expected bool, but got {go_type_name(v)}")

        return checked
    template = [0, 0] + [None] * nslots

    def stateful(result: Any) -> bool:
        v = fn(result, template.copy())
        if v is True or v is False:
            return v
        raise ExprError(f"expected bool, but got {go_type_name(v)}")

    return stateful


def compile_tree(node: ast.Node, checked: Checked, result_rt: type) -> Callable[[Any], bool]:
    compiler = Compiler(checked, result_rt)
    code = compiler.compile(node)
    return build_program(code, compiler.nslots, compiler.needs_state)
