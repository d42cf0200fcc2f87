## Reduce kernel: out[m] = POST(combine over the reduced elements j of MAP(in[m, j])).
##
## The input is viewed as kept dims (collapsed; m walks them in C order, and the output is
## dense in m) and reduced dims (collapsed; j walks them). The reduced range may be split into
## `parts`; each part then writes a partial result at out[m * parts + part] and a second launch
## (first=False) reduces those partials.
##
## Parameters
##   name      kernel name
##   in_type   C storage type of the input (bool is stored as uchar)
##   acc       C type of the accumulator (and of partial results)
##   out_type  C storage type of the output
##   combine   "sum" | "prod" | "max" | "min" | "and" | "or" | "argmax" | "argmin"
##             (the arg* forms track the index j of the winner; ties keep the lowest j,
##             NaN wins over numbers as PyTorch's max/min do)
##   kahan     compensated summation (float sums): error independent of the length
##   map       C expression over x (the element as acc) and aux: what is accumulated
##   post      C expression over r (the result), count and aux: what is stored
##   binary    a second input y of the same shape (its own strides; in2_type) is read
##             alongside x, and MAP sees both (dot, mv); not in "cols"/"band" modes
##   aux       read a per-output value aux[m] (a mean for var, a max for logsumexp)
##   first     apply MAP (a first pass); a second pass reduces partial results as they are
##   with_idx  the input carries indices (second pass of an arg* reduction)
##   mode      "loop": one work-item per (output, part), walking the reduced dims in nested
##             loops (outer-dim reductions: neighbouring work-items read neighbouring memory);
##             "group": one work-group per (output, part), work-items stride over j and
##             meet in a local-memory tree (inner-dim and whole-tensor reductions)
##             CPU devices add two explicitly vectorised forms of "loop" (pocl runs a
##             work-item's loop as scalar code): "vec" walks a contiguous reduced range
##             (rdim 1, stride 1) in vectors of vw lanes, four accumulators deep; "cols" gives
##             each work-item vw * 4 neighbouring outputs of a contiguous innermost kept dim
##             and adds whole vectors per reduced element (outer-dim reductions)
##             "band" (sums only) gives each work-item a band of rows of an outer reduced dim
##             and all outputs of a contiguous kept dim, read row by row as NumPy does; it
##             always writes partial sums and negated compensations for a second pass
##   vw        vector width of "vec", "cols" and "band" (lanes of acc; 64 bytes)
##   R         rows "band" adds in registers before folding them into the running sums
##   wg        work-group size in group mode (a power of two)
##   kdim      number of kept dims; rdim: number of reduced dims
##   idx       index type ("int" or "long")
##   fp64, fp16  enable the double / half extensions
<%
    arg = combine in ("argmax", "argmin")
    # the value read at position p (MAP applies on a first pass only)
    y = f"({ct})in2[p2]" if binary else "0"
    value = f"map_value(({ct})in[p], {y}, aux)" if first else "in[p]"
%>
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

% if acc in ("float", "double", "half"):
#define LOWEST (-INFINITY)
#define HIGHEST INFINITY
#define ISNAN(v) isnan(v)
% else:
#define LOWEST ${{"uchar": "0", "char": "CHAR_MIN", "short": "SHRT_MIN", "int": "INT_MIN", "long": "LONG_MIN"}[acc]}
#define HIGHEST ${{"uchar": "UCHAR_MAX", "char": "CHAR_MAX", "short": "SHRT_MAX", "int": "INT_MAX", "long": "LONG_MAX"}[acc]}
#define ISNAN(v) 0
% endif

% if arg:
/* Whether candidate (b, jb) beats the current (a, ja): NaN first, then the larger (smaller)
   value, then the lower index. ja < 0 marks "nothing seen yet". */
inline int wins(${acc} a, long ja, ${acc} b, long jb)
{
    if (jb < 0) return 0;
    if (ja < 0) return 1;
    if (ISNAN(a)) return ISNAN(b) && jb < ja;
    if (ISNAN(b)) return 1;
    if (b == a) return jb < ja;
    return b ${">" if combine == "argmax" else "<"} a;
}
% endif

<%def name="init()">\
% if combine in ("sum", "or"):
(${acc})0\
% elif combine in ("prod", "and"):
(${acc})1\
% elif combine in ("max", "argmax"):
LOWEST\
% else:
HIGHEST\
% endif
</%def>

<%def name="vfold()"><% V = f"{acc}{vw}"; W = vw * 4; lanes = "0123456789abcdef" %>\
% if combine == "sum" and kahan:
${V} y_ = x_ - cv; ${V} t_ = v + y_; cv = select((${V})0, (t_ - v) - y_, isfinite(t_)); v = t_;\
% elif combine == "sum":
v += x_;\
% elif combine == "prod":
v *= x_;\
% elif combine == "max" and acc in ("float", "double"):
v = select(v, x_, isnan(x_) | ((x_ > v) & ~isnan(v)));\
% elif combine == "min" and acc in ("float", "double"):
v = select(v, x_, isnan(x_) | ((x_ < v) & ~isnan(v)));\
% elif combine == "max":
v = select(v, x_, x_ > v);\
% else:
v = select(v, x_, x_ < v);\
% endif
</%def>

## Kept position m -> input base offset.
<%def name="kept_base()">\
    ${idx} base = in_off, rem = m, c_;
% if binary:
    ${idx} base2 = in2_off;
% endif
% for d in reversed(range(kdim)):
%   if d > 0:
    c_ = rem % ksize${d}; rem = rem / ksize${d}; base += c_ * kst${d};
%   else:
    c_ = rem; base += c_ * kst${d};
%   endif
%   if binary:
    base2 += c_ * kst2_${d};
%   endif
% endfor
</%def>

## Loops over rows [lo, hi) of the outermost reduced dim and all of the others; p: offset.
<%def name="reduced_loops_open()">\
% for d in range(rdim):
    for (${idx} i${d} = ${"lo" if d == 0 else "0"}; i${d} < ${"hi" if d == 0 else f"rsize{d}"}; ++i${d}) {
% endfor
        const ${idx} p = base${"".join(f" + i{d} * rst{d}" for d in range(rdim))};
</%def>
<%def name="reduced_loops_close()">\
% for d in range(rdim):
    }
% endfor
</%def>

## One block of rows of "band" mode: `count` rows unrolled, or (None) hi - row rows.
<%def name="band_rows(count)"><% V = f"{acc}{vw}" %>\
        __global const ${in_type} *src = in + in_off + row * rst0;
        for (${idx} k = 0; k < kv; k += ${vw}) {
% if aux:
            const ${V} auxv = vload${vw}(0, auxp + aux_off + k);
% else:
            const ${V} auxv = 0;
% endif
            ${V} b = 0;
% if count is None:
            for (${idx} i = 0; i < hi - row; ++i)
                b += map_vec(convert_${V}(vload${vw}(0, src + i * rst0 + k)), 0, auxv);
% else:
%   for i in range(count):
            b += map_vec(convert_${V}(vload${vw}(0, src + ${i} * rst0 + k)), 0, auxv);
%   endfor
% endif
            ${V} s = vload${vw}(0, sums + k), cv = vload${vw}(0, comp + k);
            VFOLD(s, cv, b);
            vstore${vw}(s, 0, sums + k);
            vstore${vw}(cv, 0, comp + k);
        }
        for (${idx} k = kv; k < K; ++k) {
% if aux:
            const ${acc} aux = auxp[aux_off + k];
% else:
            const ${acc} aux = 0;
% endif
            ${acc} r = sums[k], c = comp[k];
            for (${idx} i = 0; i < ${"hi - row" if count is None else count}; ++i) {
${fold("r", "map_value((" + ct + ")src[i * rst0 + k], 0, aux)", "0")}
            }
            sums[k] = r;
            comp[k] = c;
        }
</%def>

## Fold value v (index j) into accumulator r (its index rr; Kahan compensation c).
<%def name="fold(r, v, j)">\
% if combine == "sum" and kahan:
        { ${acc} y = ${v} - c; ${acc} t = ${r} + y; c = isfinite(t) ? (t - ${r}) - y : 0; ${r} = t; }
% elif combine == "sum":
        ${r} += ${v};
% elif combine == "prod":
        ${r} *= ${v};
% elif combine == "max":
        { ${acc} v_ = ${v}; if (ISNAN(v_) || v_ > ${r}) ${r} = v_; }
% elif combine == "min":
        { ${acc} v_ = ${v}; if (ISNAN(v_) || v_ < ${r}) ${r} = v_; }
% elif combine == "and":
        ${r} = ${r} && (${v});
% elif combine == "or":
        ${r} = ${r} || (${v});
% else:
        { ${acc} v_ = ${v}; long j_ = ${j}; if (wins(${r}, rr, v_, j_)) { ${r} = v_; rr = j_; } }
% endif
</%def>


inline ${acc} map_value(${ct} x, ${ct} y, ${acc} aux)
{
    return ${map};
}
<% V = f"{acc}{vw}"; W = vw * 4; lanes = "0123456789abcdef" %>
% if mode in ("vec", "cols", "band"):
inline ${V} map_vec(${V} x, ${V} y, ${V} aux)
{
    return ${map};
}

/* Fold vector x into accumulator v (Kahan compensation cv), lane by lane. */
#define VFOLD(v, cv, x) { ${V} x_ = (x); ${vfold()} }
% endif

__kernel void ${name}(
    __global const ${in_type} *in, ${idx} in_off,
% if binary:
    __global const ${in2_type} *in2, ${idx} in2_off,
% endif
% if with_idx:
    __global const long *in_j, ${idx} in_j_off,
% endif
% if aux:
    __global const ${acc} *auxp, ${idx} aux_off,
% endif
    __global ${out_type} *out, ${idx} out_off,
% if arg:
    __global long *out_j, ${idx} out_j_off,
% endif
% for d in range(kdim):
    ${idx} ksize${d}, ${idx} kst${d},${f" {idx} kst2_{d}," if binary else ""}
% endfor
% for d in range(rdim):
    ${idx} rsize${d}, ${idx} rst${d},${f" {idx} rst2_{d}," if binary else ""}
% endfor
    ${idx} m_count, ${idx} parts, ${idx} part_len, ${acc} count)
{
% if mode == "cols":
    /* work-item: outputs m .. m + ${W} (a block of the innermost kept dim), part of rows */
    const ${idx} gid = (${idx})get_global_id(0);
    const ${idx} K = ksize${kdim - 1};
    const ${idx} nb = (K + ${W - 1}) / ${W};
    const ${idx} blocks = (m_count / K) * nb;
    if (gid >= blocks * parts) return;
    const ${idx} part = gid / blocks, b = gid - part * blocks;
    const ${idx} col0 = (b % nb) * ${W};
    const ${idx} m = (b / nb) * K + col0;
${kept_base()}
    const ${idx} lo = part * part_len;
    const ${idx} hi = min(lo + part_len, (${idx})rsize0);
    __global ${out_type} *dst = out + out_off + (parts > 1 ? part * m_count : 0) + m;
    if (col0 + ${W} <= K) {
% for u in range(4):
        ${V} v${u} = (${V})(${init()}), cv${u} = 0;
%   if aux:
        const ${V} auxv${u} = vload${vw}(${u}, auxp + aux_off + m);
%   else:
        const ${V} auxv${u} = 0;
%   endif
% endfor
${reduced_loops_open()}
% for u in range(4):
        VFOLD(v${u}, cv${u}, map_vec(convert_${V}(vload${vw}(${u}, in + p)), 0, auxv${u}));
% endfor
${reduced_loops_close()}
% for u in range(4):
%   for lane in range(vw):
        {
%     if combine == "sum" and kahan:
            const ${acc} r = v${u}.s${lanes[lane]} - cv${u}.s${lanes[lane]};
%     else:
            const ${acc} r = v${u}.s${lanes[lane]};
%     endif
            const ${acc} aux = auxv${u}.s${lanes[lane]};
            dst[${u * vw + lane}] = parts > 1 ? (${out_type})r : (${out_type})(${post});
        }
%   endfor
% endfor
        return;
    }
    for (${idx} lane = 0; lane < K - col0; ++lane) {
        ${acc} r = ${init()}, c = 0;
        long rr = -1;
% if aux:
        const ${acc} aux = auxp[aux_off + m + lane];
% else:
        const ${acc} aux = 0;
% endif
${reduced_loops_open()}
${fold("r", "map_value((" + ct + ")in[p + lane], 0, aux)", "0")}
${reduced_loops_close()}
% if combine == "sum" and kahan:
        r -= c;
% endif
        dst[lane] = parts > 1 ? (${out_type})r : (${out_type})(${post});
    }
% elif mode == "band":
    /* work-item: rows [lo, hi) of the one reduced dim, all K contiguous outputs; the
       running sums and their Kahan compensations live in out (parts x K, then parts x K
       more): rows are read whole, in order, ${R} at a time per vector of outputs */
    const ${idx} part = (${idx})get_global_id(0);
    if (part >= parts) return;
    const ${idx} K = ksize0, lo = part * part_len, hi = min(lo + part_len, (${idx})rsize0);
    const ${idx} kv = K / ${vw} * ${vw};
    __global ${acc} *sums = out + out_off + part * K;
    __global ${acc} *comp = sums + parts * K;
    for (${idx} k = 0; k < K; ++k) { sums[k] = 0; comp[k] = 0; }
    ${idx} row = lo;
    for (; row + ${R} <= hi; row += ${R}) {
${band_rows(R)}
    }
    if (row < hi) {
${band_rows(None)}
    }
    for (${idx} k = 0; k < K; ++k)      /* the second pass adds sums and -compensations */
        comp[k] = -comp[k];
% else:
% if mode == "group":
    const ${idx} g = (${idx})get_group_id(0);
    const ${idx} lid = (${idx})get_local_id(0);
    const ${idx} m = g / parts, part = g - m * parts;
% else:
    const ${idx} gid = (${idx})get_global_id(0);
    if (gid >= m_count * parts) return;
    const ${idx} part = gid / m_count, m = gid - part * m_count;
% endif
${kept_base()}
% if aux:
    const ${acc} aux = auxp[aux_off + m];
% else:
    const ${acc} aux = 0;
% endif
    ${acc} r = ${init()};
    long rr = -1;
    ${acc} c = 0;
% if mode == "loop":
    /* part covers rows [lo, hi) of the outermost reduced dim; inner reduced dims fully */
    const ${idx} lo = part * part_len;
    const ${idx} hi = min(lo + part_len, (${idx})rsize0);
    long j = (long)lo * (${" * ".join(["(long)1"] + [f"(long)rsize{d}" for d in range(1, rdim)])});
% for d in range(rdim):
    for (${idx} i${d} = ${"lo" if d == 0 else "0"}; i${d} < ${"hi" if d == 0 else f"rsize{d}"}; ++i${d}) {
% endfor
        const ${idx} p = base ${"".join(f" + i{d} * rst{d}" for d in range(rdim))};
% if binary:
        const ${idx} p2 = base2 ${"".join(f" + i{d} * rst2_{d}" for d in range(rdim))};
% endif
% if with_idx:
${fold("r", value, "in_j[in_j_off + p - in_off]")}
% else:
${fold("r", value, "j")}
% endif
        ++j;
% for d in range(rdim):
    }
% endfor
    const ${idx} o = m * parts + part;
% elif mode == "vec":
    /* contiguous range [lo, hi) of the one reduced dim, vw lanes at a time */
    const ${idx} lo = part * part_len;
    const ${idx} hi = min(lo + part_len, (${idx})rsize0);
    __global const ${in_type} *row = in + base;
% if binary:
    __global const ${in2_type} *row2 = in2 + base2;
% endif
% for u in range(4):
    ${V} v${u} = (${V})(${init()}), cv${u} = 0;
% endfor
    const ${V} auxv = (${V})aux;
    ${idx} p = lo;
    for (; p + ${4 * vw} <= hi; p += ${4 * vw}) {
% for u in range(4):
        VFOLD(v${u}, cv${u}, map_vec(convert_${V}(vload${vw}(${u}, row + p)),
                                     ${f"convert_{V}(vload{vw}({u}, row2 + p))" if binary else "0"}, auxv));
% endfor
    }
% if combine == "sum" and kahan:
    v0 = ((v0 - cv0) + (v1 - cv1)) + ((v2 - cv2) + (v3 - cv3));
% else:
    VFOLD(v0, cv0, v1);
    VFOLD(v2, cv2, v3);
    VFOLD(v0, cv0, v2);
% endif
% for lane in range(vw):
${fold("r", f"v0.s{'0123456789abcdef'[lane]}", "0")}
% endfor
    for (; p < hi; ++p) {
${fold("r", "map_value((" + ct + ")row[p], " + ("(" + ct + ")row2[p]" if binary else "0") + ", aux)", "0")}
    }
    const ${idx} o = m * parts + part;
% else:
    const ${idx} lo = part * part_len;
    ${idx} total = 1${"".join(f" * rsize{d}" for d in range(rdim))};
    const ${idx} hi = min(lo + part_len, total);
    for (${idx} j = lo + lid; j < hi; j += ${wg}) {
        ${idx} p = base, jr = j, q;
% if binary:
        ${idx} p2 = base2;
% endif
% for d in reversed(range(rdim)):
%   if d > 0:
        q = jr % rsize${d}; jr = jr / rsize${d};
%   else:
        q = jr;
%   endif
        p += q * rst${d};
%   if binary:
        p2 += q * rst2_${d};
%   endif
% endfor
% if with_idx:
${fold("r", value, "in_j[in_j_off + p - in_off]")}
% else:
${fold("r", value, "j")}
% endif
    }
    /* tree over the work-group, pairwise */
    __local ${acc} tree[${wg}];
% if arg:
    __local long tree_j[${wg}];
    tree_j[lid] = rr;
% endif
% if combine == "sum" and kahan:
    tree[lid] = r - c;
% else:
    tree[lid] = r;
% endif
    barrier(CLK_LOCAL_MEM_FENCE);
    for (${idx} s = ${wg // 2}; s > 0; s >>= 1) {
        if (lid < s) {
            ${acc} a = tree[lid], b = tree[lid + s];
% if combine == "sum":
            tree[lid] = a + b;
% elif combine == "prod":
            tree[lid] = a * b;
% elif combine == "max":
            tree[lid] = (ISNAN(b) || b > a) && !ISNAN(a) ? b : a;
% elif combine == "min":
            tree[lid] = (ISNAN(b) || b < a) && !ISNAN(a) ? b : a;
% elif combine == "and":
            tree[lid] = a && b;
% elif combine == "or":
            tree[lid] = a || b;
% else:
            if (wins(a, tree_j[lid], b, tree_j[lid + s])) {
                tree[lid] = b;
                tree_j[lid] = tree_j[lid + s];
            }
% endif
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid != 0) return;
    r = tree[0];
    c = 0;
% if arg:
    rr = tree_j[0];
% endif
    const ${idx} o = m * parts + part;
% endif
% if combine == "sum" and kahan and mode in ("loop", "vec"):
    r -= c;
% endif
    if (parts > 1) {
        out[out_off + o] = (${out_type})r;
% if arg:
        out_j[out_j_off + o] = rr;
% endif
        return;
    }
    out[out_off + o] = (${out_type})(${post});
% if arg:
    out_j[out_j_off + o] = rr;
% endif
% endif
}
