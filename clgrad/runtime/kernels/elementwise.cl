## Elementwise kernel: out[i] = EXPR(a0, a1, ...) for every element i of the output.
##
## Parameters
##   name        kernel name (op, dtypes and layout variant)
##   out_type    C storage type of the output (bool is stored as uchar)
##   out_bool    store (EXPR) != 0 instead of a cast (bool outputs)
##   ct          C type the expression computes in ("opmath": half computes in float)
##   operands    list of (kind, storage_type, value_type); kind is
##                 "buf"    a tensor read at the current element
##                 "one"    a one-element tensor, read once (broadcast)
##                 "scalar" a by-value kernel argument
##   expr        C expression over a0, a1, ... (values of value_type) and i (linear index)
##   ndim        0: every buffer operand is dense in the output's order (index i directly);
##               otherwise the number of (collapsed) dims, with per-operand strides
##   idx         index type: "int" when every offset fits in 31 bits, else "long"
##   helpers     names of helper functions EXPR uses (defined below for type ct)
##   chunk       elements per work-item, walked contiguously (CPU devices vectorise the
##               loop; GPUs use 1)
##   vw          0, or the vector width of a dense kernel's full chunks: EXPR (vector-safe:
##               builtins and arithmetic) runs on ct-vectors of vw elements, loaded and stored
##               with vload/vstore. pocl vectorises builtins such as log, sin, erf, atan2
##               only when written on vectors: 5-15x faster there.
##   guard       "" or a C condition over the vectors a0, a1, ...: a vector failing it is
##               computed element by element (lanes a vector builtin may get wrong)
##   fp64, fp16  enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

/* b == -1 in the compute type: guards INT_MIN / -1, which traps on x86 (never for uchar) */
% if ct == "uchar":
#define IS_MINUS_ONE(b) 0
% else:
#define IS_MINUS_ONE(b) ((b) == (${ct})-1)
% endif

% if "floordiv_int" in helpers:
inline ${ct} floordiv_int(${ct} a, ${ct} b)
{
    if (b == 0) return 0;                   /* no trap: PyTorch raises for scalar zero */
    if (IS_MINUS_ONE(b)) return (${ct})(-a);
    ${ct} q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}
% endif
% if "remainder_int" in helpers:
inline ${ct} remainder_int(${ct} a, ${ct} b)
{
    if (b == 0 || IS_MINUS_ONE(b)) return 0;
    ${ct} r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
% endif
% if "floordiv_float" in helpers:
inline ${ct} floordiv_float(${ct} a, ${ct} b)
{
    if (b == 0) return a / b;
    ${ct} mod = fmod(a, b);
    ${ct} div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div == 0) return copysign((${ct})0, a / b);
    ${ct} fl = floor(div);
    if (div - fl > (${ct})0.5) fl += 1;
    return fl;
}
% endif
% if "remainder_float" in helpers:
inline ${ct} remainder_float(${ct} a, ${ct} b)
{
    ${ct} mod = fmod(a, b);
    if (mod != 0 && ((b < 0) != (mod < 0))) mod += b;
    return mod;
}
% endif
% if "pow_float" in helpers:
/* a ** b for floats. With a scalar exponent (the op's last operand) PyTorch computes the
   common powers as products, square roots and reciprocals: so does this, which is also much
   faster than pow() on some drivers (pocl 3.1: ~90 ns per element). */
inline ${ct} pow_float(${ct} a, ${ct} b)
{
%   if operands[-1][0] == "scalar":
    if (b == 2) return a * a;
    if (b == 1) return a;
    if (b == (${ct})0.5) return sqrt(a);
    if (b == -1) return 1 / a;
    if (b == 3) return a * a * a;
    if (b == -2) return 1 / (a * a);
    if (b == (${ct})-0.5) return 1 / sqrt(a);
%   endif
    return pow(a, b);
}
% endif
% if "pow_int" in helpers:
inline ${ct} pow_int(${ct} a, ${ct} b)
{
    if (b < 0) {                             /* integer result of a ** negative */
        if (a == 1) return 1;
        if (a == (${ct})-1) return (b & 1) ? (${ct})-1 : (${ct})1;
        return 0;
    }
    ${ct} result = 1;
    long e = b;
    while (e) {
        if (e & 1) result *= a;
        e >>= 1;
        a *= a;
    }
    return result;
}
% endif

<%def name="scalar_loads(index)">\
## one element of every operand as a0, a1, ...: buffers at index(k), 'one's at their offset
% for k, (kind, st, vt) in enumerate(operands):
%   if kind == "scalar":
    const ${vt} a${k} = s${k};
%   elif kind == "one":
    const ${vt} a${k} = (${vt})in${k}[off${k}];
%   else:
    const ${vt} a${k} = (${vt})in${k}[${index(k)}];
%   endif
% endfor
</%def>
__kernel void ${name}(
    __global ${out_type} *out, ${idx} out_off,
% for k, (kind, st, vt) in enumerate(operands):
%   if kind == "scalar":
    ${vt} s${k},
%   else:
    __global const ${st} *in${k}, ${idx} off${k},
%   endif
% endfor
% for d in range(ndim):
    ${idx} size${d}, ${idx} ost${d},
%   for k, (kind, st, vt) in enumerate(operands):
%     if kind == "buf":
    ${idx} st${k}_${d},
%     endif
%   endfor
% endfor
    ${idx} n)
{
% if chunk == 1:
    ${idx} i = (${idx})get_global_id(0);
    if (i >= n) return;
% else:
    const ${idx} first = (${idx})get_global_id(0) * ${chunk};
    const ${idx} last = min(first + ${chunk}, n);
%   if vw:
    if (last - first == ${chunk}) {
        for (${idx} i = first; i < last; i += ${vw}) {
%     for k, (kind, st, vt) in enumerate(operands):
%       if kind == "scalar":
            const ${vt}${vw} a${k} = (${vt}${vw})(s${k});
%       elif kind == "one":
            const ${vt}${vw} a${k} = (${vt}${vw})(in${k}[off${k}]);
%       else:
            const ${vt}${vw} a${k} = vload${vw}(0, in${k} + off${k} + i);
%       endif
%     endfor
%     if guard:
            if (!(${guard})) {
                for (${idx} j = i; j < i + ${vw}; ++j) {
${scalar_loads(lambda k: "off%d + j" % k)}
                    out[out_off + j] = (${out_type})(${expr});
                }
                continue;
            }
%     endif
            vstore${vw}((${ct}${vw})(${expr}), 0, out + out_off + i);
        }
        return;
    }
%   endif
%   if ndim == 0:
    for (${idx} i = first; i < last; ++i) {
%   endif
% endif
% if ndim == 0:
    ${idx} o = out_off + i;
%   for k, (kind, st, vt) in enumerate(operands):
%     if kind == "buf":
    ${idx} p${k} = off${k} + i;
%     endif
%   endfor
% else:
## Strided: unravel the (first) element into coordinates k0..k{ndim-1}; a chunked work-item
## then steps through its elements like an odometer, with no division per element.
    ${idx} rem = ${"i" if chunk == 1 else "first"};
    ${idx} o = out_off;
%   for k, (kind, st, vt) in enumerate(operands):
%     if kind == "buf":
    ${idx} p${k} = off${k};
%     endif
%   endfor
%   for d in reversed(range(ndim)):
%     if d > 0:
    ${idx} k${d} = rem % size${d}; rem = rem / size${d};
%     else:
    ${idx} k${d} = rem;
%     endif
    o += k${d} * ost${d};
%     for k, (kind, st, vt) in enumerate(operands):
%       if kind == "buf":
    p${k} += k${d} * st${k}_${d};
%       endif
%     endfor
%   endfor
%   if chunk != 1:
    for (${idx} i = first; i < last; ++i) {
%   endif
% endif
${scalar_loads(lambda k: "p%d" % k)}
% if out_bool:
    out[o] = (${out_type})((${expr}) != 0);
% else:
    out[o] = (${out_type})(${expr});
% endif
% if chunk != 1 and ndim > 0:
## advance to element i + 1: the innermost coordinate steps, carrying outwards
%   for d in reversed(range(ndim)):
%     if d > 0:
        if (++k${d} < size${d}) {
            o += ost${d};
%       for k, (kind, st, vt) in enumerate(operands):
%         if kind == "buf":
            p${k} += st${k}_${d};
%         endif
%       endfor
        } else {
            k${d} = 0;
            o -= (size${d} - 1) * ost${d};
%       for k, (kind, st, vt) in enumerate(operands):
%         if kind == "buf":
            p${k} -= (size${d} - 1) * st${k}_${d};
%         endif
%       endfor
%     else:
            o += ost0;
%       for k, (kind, st, vt) in enumerate(operands):
%         if kind == "buf":
            p${k} += st${k}_0;
%         endif
%       endfor
%     endif
%   endfor
%   for d in range(1, ndim):
        }
%   endfor
% endif
% if chunk != 1:
    }
% endif
}
