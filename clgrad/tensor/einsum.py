"""einsum: Einstein summation over one or more operands, contracted pairwise.

Each pairwise contraction arranges both operands as (batch, rows, inner) and (batch, inner,
cols) views (permute + expand + reshape, which copies only when dims cannot be merged) and
runs one batched GEMM; subscripts that only one operand carries are summed out first.
"""
from __future__ import annotations

import string

from . import dtype as dt
from .linalg import _batched, _no_bool, _same_device, _tensor
from .tensor import Tensor


def _parse(equation: str, operands) -> tuple:
    """(input terms, output term) with '...' replaced by fresh letters, right-aligned."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    spare = [c for c in string.ascii_letters if c not in eq]
    n_ell = max((t.dim() - len(term) + 3 for term, t in zip(terms, operands)
                 if "..." in term), default=0)
    ell = "".join(spare[:n_ell])
    out = []
    for i, (term, t) in enumerate(zip(terms, operands)):
        if "..." in term:
            term = term.replace("...", ell[n_ell - (t.dim() - len(term) + 3):])
        if len(term) != t.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(term)}) does not match the number of dimensions "
                               f"({t.dim()}) for operand {i} and no ellipsis was given")
        if len(set(term)) != len(term):
            raise NotImplementedError(f"einsum(): repeated subscripts within one operand "
                                      f"(diagonals, as in '{equation}') are not implemented")
        out.append(term)
    if arrow:
        rhs = rhs.replace("...", ell)
    else:
        counts = "".join(out)
        rhs = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1
                                   and c not in ell))
    for c in rhs:
        if not any(c in term for term in out):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation "
                               "for any input operand")
    return out, rhs


def _sizes(terms, operands) -> dict:
    sizes = {}
    for i, (term, t) in enumerate(zip(terms, operands)):
        for c, size in zip(term, t._shape):
            seen = sizes.get(c, 1)
            if size != 1 and seen != 1 and size != seen:
                raise RuntimeError(f"einsum(): subscript {c} has size {size} for operand {i} "
                                   f"which does not broadcast with previously seen size {seen}")
            sizes[c] = size if seen == 1 else seen
    return sizes


def _arrange(t, term, order, sizes):
    """`t` permuted to the subscripts `order` and expanded to their full sizes."""
    t = t.permute(*[term.index(c) for c in order])
    return t.expand(*[sizes[c] for c in order])


def _merge(t, groups, sizes):
    """View `t` (dims in the concatenated order of `groups`) as one dim per group."""
    shape = []
    for group in groups:
        size = 1
        for c in group:
            size *= sizes[c]
        shape.append(size)
    return t.reshape(*shape)


def _sum_out(t, term, keep, sizes):
    """Sum `t` over the subscripts of `term` not in `keep` (broadcast dims at full size)."""
    summed = [c for c in term if c not in keep]
    kept = [c for c in term if c in keep]
    if not summed:
        return t, "".join(kept)
    x = _arrange(t, term, kept + summed, sizes)
    return x.sum(tuple(range(len(kept), len(term)))), "".join(kept)


def _contract(a, ta, b, tb, keep, sizes):
    """The product of two operands summed over shared subscripts not in `keep`."""
    a, ta = _sum_out(a, ta, set(tb) | set(keep), sizes)
    b, tb = _sum_out(b, tb, set(ta) | set(keep), sizes)
    batch = [c for c in ta if c in tb and c in keep]
    inner = [c for c in ta if c in tb and c not in keep]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {dt.torch_name(a.dtype)} but found "
                           f"{dt.torch_name(b.dtype)}")
    _no_bool(a.dtype, "bmm")
    x = _merge(_arrange(a, ta, batch + left + inner, sizes), [batch, left, inner], sizes)
    y = _merge(_arrange(b, tb, batch + inner + right, sizes), [batch, inner, right], sizes)
    res = Tensor._empty(x._shape[:2] + y._shape[2:], a.dtype, a.device)
    _batched(x, y, res)
    return res.view(*[sizes[c] for c in batch + left + right]), "".join(batch + left + right)


def einsum(equation: str, *operands):
    """Einstein summation (torch.einsum) over one or more operands, contracted pairwise.

    Supports '...' broadcasting and implicit output; repeated subscripts within one operand
    (diagonals) raise NotImplementedError.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, t in enumerate(operands):
        _tensor(t, "einsum", f"operands[{i}]", i + 2)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    _same_device(*operands)
    terms, rhs = _parse(equation, operands)
    sizes = _sizes(terms, operands)
    x, tx = operands[0], terms[0]
    for i in range(1, len(operands)):
        later = set(rhs).union(*terms[i + 1:])
        x, tx = _contract(x, tx, operands[i], terms[i], later, sizes)
    x, tx = _sum_out(x, tx, set(rhs), sizes)
    return _arrange(x, tx, list(rhs), sizes)
