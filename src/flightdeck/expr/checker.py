"""Compile-time type checking, following expr v1.15.5's ``checker`` rule by rule.

Argo type-checks against the environment's *values*, so the same condition can be valid for a
``float64`` result and invalid for a ``[]float64`` one (``type float64[int] is undefined``). The
checker raises the first error expr would record; on success it returns the facts the compiler
needs (node types, integer literals to be passed as float64, compiled literal regexps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flightdeck.expr import ast
from flightdeck.expr import types as ty
from flightdeck.expr.builtins import BUILTINS, SignatureError
from flightdeck.expr.builtins_names import BUILTIN_NAMES
from flightdeck.expr.env import ENV_FUNCS, RESULT
from flightdeck.expr.errors import ExprError, Unsupported
from flightdeck.expr.regex import compile_regex

_BUILTIN_SET = frozenset(BUILTIN_NAMES)


@dataclass
class Info:
    """expr's ``info``: the element type of a literal array, or the builtin a name refers to."""

    elem: ty.T = None
    builtin: str | None = None


_NO_INFO = Info()


@dataclass
class Checked:
    types: dict[int, ty.T] = field(default_factory=dict)
    # IntegerNodes that expr rewrites into FloatNodes (an int passed where float64 is expected)
    as_float: set[int] = field(default_factory=set)
    regexps: dict[int, re.Pattern[str]] = field(default_factory=dict)
    result_type: ty.T = None


@dataclass
class _Scope:
    vtype: ty.T
    vars: dict[str, ty.T]


class Checker:
    def __init__(self, result_type: ty.T) -> None:
        self.env: dict[str, ty.T] = {RESULT: result_type}
        for name, fn in ENV_FUNCS.items():
            self.env[name] = fn.type
        self.out = Checked()
        self.predicate_scopes: list[_Scope] = []
        self.var_scopes: list[tuple[str, ty.T, Info]] = []
        self.parents: list[ast.Node] = []

    def check(self, node: ast.Node) -> Checked:
        self.out.result_type, _ = self.visit(node)
        return self.out

    def visit(self, node: ast.Node) -> tuple[ty.T, Info]:
        self.parents.append(node)
        method = getattr(self, "visit_" + type(node).__name__)
        t, info = method(node)
        self.parents.pop()
        self.out.types[id(node)] = t
        return t, info

    # -- leaves
    def visit_NilNode(self, node: ast.NilNode) -> tuple[ty.T, Info]:
        return None, _NO_INFO

    def visit_IntegerNode(self, node: ast.IntegerNode) -> tuple[ty.T, Info]:
        return ty.INT, _NO_INFO

    def visit_FloatNode(self, node: ast.FloatNode) -> tuple[ty.T, Info]:
        return ty.FLOAT, _NO_INFO

    def visit_BoolNode(self, node: ast.BoolNode) -> tuple[ty.T, Info]:
        return ty.BOOL, _NO_INFO

    def visit_StringNode(self, node: ast.StringNode) -> tuple[ty.T, Info]:
        return ty.STRING, _NO_INFO

    def visit_ConstantNode(self, node: ast.ConstantNode) -> tuple[ty.T, Info]:
        return ty.ARRAY, _NO_INFO

    def visit_IdentifierNode(self, node: ast.IdentifierNode) -> tuple[ty.T, Info]:
        for name, vtype, info in reversed(self.var_scopes):
            if name == node.value:
                return vtype, info
        if node.value == "$env":
            return ty.MAP, _NO_INFO
        return self.lookup_env(node.value, strict=True)

    def lookup_env(self, name: str, *, strict: bool) -> tuple[ty.T, Info]:
        if name in _BUILTIN_SET:
            return ty.FUNCTION, Info(builtin=name)
        if name in self.env:
            return self.env[name], _NO_INFO
        if strict:
            raise ExprError(f"unknown name {name}")
        return ty.ANY, _NO_INFO

    # -- operators
    def visit_UnaryNode(self, node: ast.UnaryNode) -> tuple[ty.T, Info]:
        t, _ = self.visit(node.node)
        if node.operator in ("!", "not"):
            if ty.is_bool(t) or ty.is_any(t):
                return ty.BOOL, _NO_INFO
        elif node.operator in ("+", "-"):
            if ty.is_number(t):
                return t, _NO_INFO
            if ty.is_any(t):
                return ty.ANY, _NO_INFO
        raise ExprError(f"invalid operation: {node.operator} (mismatched type {ty.type_name(t)})")

    def visit_BinaryNode(self, node: ast.BinaryNode) -> tuple[ty.T, Info]:
        lt, _ = self.visit(node.left)
        rt, rinfo = self.visit(node.right)
        op = node.operator
        result = self._binary(node, op, lt, rt, rinfo)
        if result is not _MISMATCH:
            return result, _NO_INFO  # type: ignore[return-value]
        raise ExprError(
            f"invalid operation: {op} (mismatched types {ty.type_name(lt)} and {ty.type_name(rt)})"
        )

    def _binary(self, node: ast.BinaryNode, op: str, lt: ty.T, rt: ty.T, rinfo: Info) -> object:
        num, string, any_ = ty.is_number, ty.is_string, ty.is_any

        def either(*preds: object) -> bool:
            # expr's or(): one side is interface {} and the other passes a predicate (or is too)
            if any_(lt) and any_(rt):
                return True
            if any_(lt) and any(p(rt) for p in preds):  # type: ignore[operator]
                return True
            return any_(rt) and any(p(lt) for p in preds)  # type: ignore[operator]

        if op in ("==", "!="):
            if ty.comparable(lt, rt):
                return ty.BOOL
        elif op in ("or", "||", "and", "&&"):
            if (ty.is_bool(lt) and ty.is_bool(rt)) or either(ty.is_bool):
                return ty.BOOL
        elif op in ("<", ">", ">=", "<="):
            if (num(lt) and num(rt)) or (string(lt) and string(rt)) or (ty.is_time(lt) and ty.is_time(rt)):
                return ty.BOOL
            if either(num, string, ty.is_time):
                return ty.BOOL
        elif op == "-":
            if num(lt) and num(rt):
                return _combined(lt, rt)
            if either(num, ty.is_time):
                return ty.ANY
        elif op == "*":
            if num(lt) and num(rt):
                return _combined(lt, rt)
            if either(num):
                return ty.ANY
        elif op in ("/", "**", "^"):
            if (num(lt) and num(rt)) or either(num):
                return ty.FLOAT
        elif op == "%":
            if ty.is_integer(lt) and ty.is_integer(rt):
                return _combined(lt, rt)
            if either(ty.is_integer):
                return ty.ANY
        elif op == "+":
            if num(lt) and num(rt):
                return _combined(lt, rt)
            if string(lt) and string(rt):
                return ty.STRING
            if either(num, string, ty.is_time, ty.is_duration):
                return ty.ANY
        elif op == "in":
            return self._in(node, lt, rt, rinfo)
        elif op == "matches":
            if isinstance(node.right, ast.StringNode):
                self.out.regexps[id(node)] = compile_regex(node.right.value)
            if (string(lt) and string(rt)) or either(string):
                return ty.BOOL
        elif op in ("contains", "startsWith", "endsWith"):
            if (string(lt) and string(rt)) or either(string):
                return ty.BOOL
        elif op == "..":
            if (ty.is_integer(lt) and ty.is_integer(rt)) or either(ty.is_integer):
                return ty.INT_SLICE
        elif op == "??":
            if lt is None:
                return rt
            if rt is None:
                return lt
            return lt if ty.assignable(rt, lt) else ty.ANY
        return _MISMATCH

    def _in(self, node: ast.BinaryNode, lt: ty.T, rt: ty.T, rinfo: Info) -> object:
        if ty.is_map(rt):
            assert rt is not None and rt.key is not None
            if lt is not None and not ty.is_any(lt) and not ty.assignable(lt, rt.key):
                raise ExprError(f"cannot use {lt} as type {rt.key} in map key")
            return ty.BOOL
        if ty.is_array(rt):
            assert rt is not None
            if lt is None:
                return ty.BOOL
            if not ty.comparable(lt, rt.elem):
                raise ExprError(f"cannot use {lt} as type {ty.type_name(rt.elem)} in array")
            if not ty.comparable(lt, rinfo.elem):
                raise ExprError(f"cannot use {lt} as type {ty.type_name(rinfo.elem)} in array")
            return ty.BOOL
        if ty.is_any(lt) and (ty.is_string(rt) or ty.is_array(rt) or ty.is_map(rt)):
            return ty.BOOL
        if ty.is_any(rt):
            return ty.BOOL
        return _MISMATCH

    def visit_ChainNode(self, node: ast.ChainNode) -> tuple[ty.T, Info]:
        return self.visit(node.node)

    def visit_MemberNode(self, node: ast.MemberNode) -> tuple[ty.T, Info]:
        base, _ = self.visit(node.node)
        prop, _ = self.visit(node.property)
        if isinstance(node.node, ast.IdentifierNode) and node.node.value == "$env":
            if isinstance(node.property, ast.StringNode):
                return self.lookup_env(node.property.value, strict=not node.optional)
            return ty.ANY, _NO_INFO
        name = node.property.value if isinstance(node.property, ast.StringNode) else None
        if name is not None and base is None:
            raise ExprError(f"type <nil> has no field {name}")
        k = ty.kind(base)
        if k is ty.Kind.INTERFACE:
            return ty.ANY, _NO_INFO
        if k is ty.Kind.MAP:
            assert base is not None and base.key is not None
            if prop is not None and not ty.assignable(prop, base.key) and not ty.is_any(prop):
                raise ExprError(f"cannot use {prop} to get an element from {base}")
            return base.elem, _NO_INFO
        if k is ty.Kind.SLICE:
            assert base is not None
            if not ty.is_integer(prop) and not ty.is_any(prop):
                raise ExprError(
                    f"array elements can only be selected using an integer (got {ty.type_name(prop)})"
                )
            return base.elem, _NO_INFO
        raise ExprError(f"type {ty.type_name(base)}[{ty.type_name(prop)}] is undefined")

    def visit_SliceNode(self, node: ast.SliceNode) -> tuple[ty.T, Info]:
        t, _ = self.visit(node.node)
        if ty.kind(t) not in (ty.Kind.INTERFACE, ty.Kind.STRING, ty.Kind.SLICE):
            raise ExprError(f"cannot slice {ty.type_name(t)}")
        for bound in (node.from_, node.to):
            if bound is not None:
                bt, _ = self.visit(bound)
                if not ty.is_integer(bt) and not ty.is_any(bt):
                    raise ExprError(f"non-integer slice index {ty.type_name(bt)}")
        return t, _NO_INFO

    # -- calls
    def visit_CallNode(self, node: ast.CallNode) -> tuple[ty.T, Info]:
        fn, info = self.visit(node.callee)
        if info.builtin is not None:
            return self.check_builtin(info.builtin, node.arguments), _NO_INFO
        name = "function"
        if isinstance(node.callee, ast.IdentifierNode):
            name = node.callee.value
        elif isinstance(node.callee, ast.MemberNode) and isinstance(node.callee.property, ast.StringNode):
            name = node.callee.property.value
        if fn is None:
            raise ExprError(f"{name} is nil; cannot call nil as function")
        if fn.kind is ty.Kind.INTERFACE:
            return ty.ANY, _NO_INFO
        if fn.kind is ty.Kind.FUNC:
            return self.check_arguments(name, fn, node.arguments), _NO_INFO
        raise ExprError(f"{fn} is not callable")

    def check_arguments(self, name: str, fn: ty.GoType, args: list[ast.Node]) -> ty.T:
        """expr's checkArguments; raises the error it would return."""
        n_in = len(fn.params)
        if fn.variadic:
            if len(args) < n_in - 1:
                raise _ArgumentError(f"not enough arguments to call {name}")
        else:
            if len(args) > n_in:
                raise _ArgumentError(f"too many arguments to call {name}")
            if len(args) < n_in:
                raise _ArgumentError(f"not enough arguments to call {name}")
        for i, arg in enumerate(args):
            t, _ = self.visit(arg)
            if fn.variadic and i >= n_in - 1:
                param = fn.params[-1].elem
                assert param is not None
            else:
                param = fn.params[i]
            if ty.is_float(param) and ty.is_integer(t):
                self._mark_float(arg)
                continue
            if ty.is_integer(param) and ty.is_integer(t):
                continue
            if t is None:
                continue
            if not ty.assignable(t, param) and t.kind is not ty.Kind.INTERFACE:
                raise _ArgumentError(f"cannot use {t} as argument (type {param}) to call {name} ")
        return fn.out[0] if fn.out else ty.ANY

    def _mark_float(self, node: ast.Node) -> None:
        # expr rewrites integer literals reachable through unary and + - * into float literals
        if isinstance(node, ast.IntegerNode):
            self.out.as_float.add(id(node))
            self.out.types[id(node)] = ty.FLOAT
        elif isinstance(node, ast.UnaryNode):
            self._mark_float(node.node)
        elif isinstance(node, ast.BinaryNode) and node.operator in ("+", "-", "*"):
            self._mark_float(node.left)
            self._mark_float(node.right)

    def visit_BuiltinNode(self, node: ast.BuiltinNode) -> tuple[ty.T, Info]:
        name = node.name
        args = node.arguments
        if name in (
            "all",
            "none",
            "any",
            "one",
            "filter",
            "count",
            "find",
            "findLast",
            "findIndex",
            "findLastIndex",
        ):
            collection = self._collection(name, args[0])
            self.predicate_scopes.append(_Scope(collection, {}))
            closure = self.visit_closure(args[1])
            self.predicate_scopes.pop()
            if not ty.is_bool(closure) and not ty.is_any(closure):
                raise ExprError(f"predicate should return boolean (got {ty.type_name(closure)})")
            if name in ("all", "none", "any", "one"):
                return ty.BOOL, _NO_INFO
            if name == "filter":
                if ty.is_any(collection):
                    return ty.ARRAY, _NO_INFO
                assert collection is not None
                return ty.slice_of(collection.elem), _NO_INFO
            if name in ("count", "findIndex", "findLastIndex"):
                return ty.INT, _NO_INFO
            if ty.is_any(collection):
                return ty.ANY, _NO_INFO
            assert collection is not None
            return collection.elem, _NO_INFO
        if name in ("map", "groupBy"):
            collection = self._collection(name, args[0])
            scope_vars: dict[str, ty.T] = {"index": ty.INT} if name == "map" else {}
            self.predicate_scopes.append(_Scope(collection, scope_vars))
            closure = self.visit_closure(args[1])
            self.predicate_scopes.pop()
            if name == "groupBy":
                return ty.GROUP_MAP, _NO_INFO
            return ty.slice_of(closure), _NO_INFO
        if name == "reduce":
            collection = self._collection(name, args[0])
            self.predicate_scopes.append(_Scope(collection, {"index": ty.INT, "acc": ty.ANY}))
            closure = self.visit_closure(args[1])
            self.predicate_scopes.pop()
            if len(args) == 3:
                self.visit(args[2])
            return closure, _NO_INFO
        return self.check_builtin(name, args), _NO_INFO

    def _collection(self, name: str, node: ast.Node) -> ty.T:
        collection, _ = self.visit(node)
        if not ty.is_array(collection) and not ty.is_any(collection):
            raise ExprError(f"builtin {name} takes only array (got {ty.type_name(collection)})")
        return collection

    def visit_closure(self, node: ast.Node) -> ty.T:
        """The closure's return type (expr types a closure as ``func(interface {}) T``)."""
        t, _ = self.visit(node)
        return t

    def visit_ClosureNode(self, node: ast.ClosureNode) -> tuple[ty.T, Info]:
        t, _ = self.visit(node.node)
        if t is None:
            raise ExprError("closure cannot be nil")
        return t, _NO_INFO

    def check_builtin(self, name: str, args: list[ast.Node]) -> ty.T:
        builtin = BUILTINS[name]
        if builtin.unsupported:
            raise Unsupported(f"the builtin {name}()")
        if name == "get":
            return self._check_get(args)
        if builtin.validate is not None:
            arg_types = [self.visit(a)[0] for a in args]
            try:
                return builtin.validate(arg_types)
            except SignatureError as exc:
                raise ExprError(str(exc)) from None
        last: ExprError | None = None
        for overload in builtin.overloads:
            try:
                return self.check_arguments(name, overload, args)
            except _ArgumentError as exc:
                last = exc
        assert last is not None
        raise last

    def _check_get(self, args: list[ast.Node]) -> ty.T:
        if len(args) != 2:
            raise ExprError(f"invalid number of arguments (expected 2, got {len(args)})")
        val, prop = args
        if isinstance(val, ast.IdentifierNode) and val.value == "$env":
            if isinstance(prop, ast.StringNode):
                return self.env.get(prop.value)
            return ty.ANY
        t, _ = self.visit(val)
        k = ty.kind(t)
        if k is ty.Kind.INTERFACE:
            return ty.ANY
        if k is ty.Kind.SLICE:
            assert t is not None
            p, _ = self.visit(prop)
            if p is None:
                raise ExprError("cannot use nil as slice index")
            if not ty.is_integer(p) and not ty.is_any(p):
                raise ExprError(f"non-integer slice index {p}")
            return t.elem
        if k is ty.Kind.MAP:
            assert t is not None and t.key is not None
            p, _ = self.visit(prop)
            if p is None:
                raise ExprError("cannot use nil as map index")
            if not ty.assignable(p, t.key) and not ty.is_any(p):
                raise ExprError(f"cannot use {p} to get an element from {t}")
            return t.elem
        raise ExprError(f"type {ty.type_name(t)} does not support indexing")

    def visit_PointerNode(self, node: ast.PointerNode) -> tuple[ty.T, Info]:
        if not self.predicate_scopes:
            raise ExprError("cannot use pointer accessor outside closure")
        scope = self.predicate_scopes[-1]
        if node.name == "":
            if ty.is_any(scope.vtype):
                return ty.ANY, _NO_INFO
            if ty.is_array(scope.vtype):
                assert scope.vtype is not None
                return scope.vtype.elem, _NO_INFO
            raise ExprError(f"cannot use {{{ty.type_name(scope.vtype)} map[]}} as array")
        if node.name in scope.vars:
            return scope.vars[node.name], _NO_INFO
        raise ExprError(f"unknown pointer #{node.name}")

    def visit_VariableDeclaratorNode(self, node: ast.VariableDeclaratorNode) -> tuple[ty.T, Info]:
        if node.name in self.env:
            raise ExprError(f"cannot redeclare {node.name}")
        if node.name in _BUILTIN_SET:
            raise ExprError(f"cannot redeclare builtin {node.name}")
        if any(name == node.name for name, _, _ in self.var_scopes):
            raise ExprError(f"cannot redeclare variable {node.name}")
        vtype, vinfo = self.visit(node.value)
        self.var_scopes.append((node.name, vtype, vinfo))
        t, info = self.visit(node.expr)
        self.var_scopes.pop()
        return t, info

    def visit_ConditionalNode(self, node: ast.ConditionalNode) -> tuple[ty.T, Info]:
        c, _ = self.visit(node.cond)
        if not ty.is_bool(c) and not ty.is_any(c):
            raise ExprError(f"non-bool expression (type {ty.type_name(c)}) used as condition")
        t1, _ = self.visit(node.exp1)
        t2, _ = self.visit(node.exp2)
        if t1 is None:
            return t2, _NO_INFO
        if t2 is None:
            return t1, _NO_INFO
        return (t1 if ty.assignable(t1, t2) else ty.ANY), _NO_INFO

    def visit_ArrayNode(self, node: ast.ArrayNode) -> tuple[ty.T, Info]:
        prev: ty.T = None
        same = True
        for i, item in enumerate(node.nodes):
            curr, _ = self.visit(item)
            if i > 0 and (curr is None or prev is None or curr.kind is not prev.kind):
                same = False
            prev = curr
        if same and prev is not None:
            return ty.ARRAY, Info(elem=prev)
        return ty.ARRAY, _NO_INFO

    def visit_MapNode(self, node: ast.MapNode) -> tuple[ty.T, Info]:
        for pair in node.pairs:
            self.visit(pair)
        return ty.MAP, _NO_INFO

    def visit_PairNode(self, node: ast.PairNode) -> tuple[ty.T, Info]:
        self.visit(node.key)
        self.visit(node.value)
        return None, _NO_INFO


class _ArgumentError(ExprError):
    """A signature mismatch; for overloaded builtins expr tries the next signature."""


_MISMATCH = object()


def _combined(a: ty.T, b: ty.T) -> ty.T:
    assert a is not None and b is not None
    if a.kind is b.kind:
        return a
    if ty.is_float(a) or ty.is_float(b):
        return ty.FLOAT
    return ty.INT


def check(node: ast.Node, result_type: ty.T) -> Checked:
    """Type-check ``node`` against an environment whose ``result`` has ``result_type``."""
    return Checker(result_type).check(node)
