## Batched GEMM: D[b] = alpha * A[b] @ B[b] + beta * C[b], every operand strided.
##
## A is (batch, M, K), B (batch, K, N), C and D (batch, M, N); each operand has an element
## offset and a stride per dim (batch stride 0 broadcasts). beta == 0 never reads C (NaN in
## C is ignored, as PyTorch does). One work-group computes a TM x TN tile of D; each of its
## WGM x WGN work-items computes RM = TM / WGM rows by RN = TN / WGN columns, held in
## registers as RN / VW vectors of VW adjacent columns. Local id 0 runs along N. Edge tiles
## (M or N not a multiple of the tile) read clamped indices and skip out-of-range stores;
## interior tiles take a path without bounds checks.
##
## Parameters (all have defaults, so this file renders alone)
##   name        kernel name
##   st, at      C storage type of the operands and the accumulate type (half -> float)
##   tm, tn      work-group tile of D (rows, columns)
##   tk          K tile staged in local memory (local=True); K unroll factor otherwise
##   wgm, wgn    work-group shape (work-items along M, along N)
##   vw          vector width along N of each work-item's columns (1, 2, 4, 8, 16)
##   local       stage A and B tiles in local memory (GPUs); else read global memory directly
##   m_major     work-group id 0 walks M (consecutive groups share a B panel: CPU caches)
##   a_kunit     A's column (K) stride is 1 (the stride becomes a literal 1)
##   a_munit     A's row (M) stride is 1 (A is a transposed view)
##   b_nunit     B's column (N) stride is 1
##   c_nunit     C's column stride is 1
##   d_nunit     D's column stride is 1
##   dot         direct path for A and B both contiguous along K (B a transposed matrix, as
##               in x @ W.T): each work-item's TM x TN outputs are dot products accumulated
##               as `vw`-wide vectors along K (vw is then the K vector width; N is scalar)
##   idx         index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16  enable the double / half extensions
<%page args="name='matmul', st='float', at='float', tm=32, tn=32, tk=16, wgm=8, wgn=8, vw=1,
             local=True, m_major=False, a_kunit=True, a_munit=False, b_nunit=True,
             c_nunit=True, d_nunit=True, dot=False, idx='int', fp64=False, fp16=False"/>
<%
    kv, vw = (vw, 1) if dot else (1, vw)
    kt = at if kv == 1 else f"{at}{kv}"
    rm, rn = tm // wgm, tn // wgn
    nv = rn // vw
    vt = at if vw == 1 else f"{at}{vw}"
    a_ks = "1" if a_kunit else "a_cs"
    a_ms = "1" if a_munit else "a_rs"
    b_ns = "1" if b_nunit else "b_cs"
    c_ns = "1" if c_nunit else "c_cs"
    d_ns = "1" if d_nunit else "d_cs"
    same = st == at
    nwi = wgm * wgn
    lanes = [""] if vw == 1 else [f".s{v:x}" for v in range(vw)]
    if tm % wgm or tn % (wgn * vw):
        raise ValueError(f"matmul tile {tm}x{tn} does not split over {wgm}x{wgn} work-items "
                         f"with vector width {vw}")

    def cvt(expr):
        return expr if same else f"({at})({expr})"

    def vec(parts):
        return parts[0] if vw == 1 else f"({vt})({', '.join(parts)})"

    def vload(ptr):
        if vw == 1:
            return cvt(f"*({ptr})")
        load = f"vload{vw}(0, {ptr})"
        return load if same else f"convert_{vt}({load})"

    def kload(ptr):
        load = f"vload{kv}(0, {ptr})"
        return load if same else f"convert_{kt}({load})"

    def hsum(v):
        return " + ".join(f"{v}.s{u:x}" for u in range(kv)) if kv > 1 else v
%>
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

## One step of the register-tile update at depth k. `edge`: clamped scalar loads.
<%def name="direct_step(k, edge)">
        {
% for j in range(nv):
%   if edge:
        const ${vt} b${j} = ${vec([cvt(f"B[{k} * b_rs + nc{j}_{v} * {b_ns}]") for v in range(vw)])};
%   elif b_nunit:
        const ${vt} b${j} = ${vload(f"B + {k} * b_rs + col{j}")};
%   else:
        const ${vt} b${j} = ${vec([cvt(f"B[{k} * b_rs + (col{j} + {v}) * b_cs]") for v in range(vw)])};
%   endif
% endfor
% for i in range(rm):
        const ${at} a${i} = ${cvt(f"pa{i}[{k} * {a_ks}]")};
%   for j in range(nv):
        acc${i}_${j} += a${i} * b${j};
%   endfor
% endfor
        }
</%def>

## The K loop reading A and B straight from global memory (CPU caches do the staging).
<%def name="direct_loop(edge)">
% for j in range(nv):
%   if edge:
%     for v in range(vw):
    const ${idx} nc${j}_${v} = min(n0 + (lid0 + ${wgn} * ${j}) * ${vw} + ${v}, N - 1);
%     endfor
%   else:
    const ${idx} col${j} = n0 + (lid0 + ${wgn} * ${j}) * ${vw};
%   endif
% endfor
% for i in range(rm):
    __global const ${st} *pa${i} = A + ${"min(m0 + lid1 + %d * %d, M - 1)" % (wgm, i) if edge else "(m0 + lid1 + %d * %d)" % (wgm, i)} * ${a_ms};
% endfor
    ${idx} k = 0;
% if tk > 1:
    for (; k + ${tk} <= K; k += ${tk}) {
%   for u in range(tk):
${direct_step(f"(k + {u})", edge)}
%   endfor
    }
% endif
    for (; k < K; ++k) {
${direct_step("k", edge)}
    }
</%def>

## dot: the K loop as RM x RN dot products of A rows and B columns (both unit-stride in K),
## `kv` at a time, then the K % kv tail. `edge`: clamped row/column indices.
<%def name="dot_loop(edge)">
% for i in range(rm):
    __global const ${st} *pa${i} = A + ${"min(m0 + %d, M - 1)" % i if edge else "(m0 + %d)" % i} * a_rs;
% endfor
% for j in range(nv):
    __global const ${st} *pb${j} = B + ${"min(n0 + %d, N - 1)" % j if edge else "(n0 + %d)" % j} * ${b_ns};
% endfor
% for i in range(rm):
%   for j in range(nv):
    ${kt} dot${i}_${j} = (${kt})0;
%   endfor
% endfor
    ${idx} k = 0;
    for (; k + ${kv} <= K; k += ${kv}) {
% for j in range(nv):
        const ${kt} b${j} = ${kload(f"pb{j} + k")};
% endfor
% for i in range(rm):
        const ${kt} a${i} = ${kload(f"pa{i} + k")};
%   for j in range(nv):
        dot${i}_${j} += a${i} * b${j};
%   endfor
% endfor
    }
% for i in range(rm):
%   for j in range(nv):
    acc${i}_${j} = ${hsum(f"dot{i}_{j}")};
%   endfor
% endfor
    for (; k < K; ++k) {
% for j in range(nv):
        const ${at} b${j} = ${cvt(f"pb{j}[k]")};
% endfor
% for i in range(rm):
        const ${at} a${i} = ${cvt(f"pa{i}[k]")};
%   for j in range(nv):
        acc${i}_${j} += a${i} * b${j};
%   endfor
% endfor
    }
</%def>

## The K loop staging TK x TM of A and TK x TN of B in local memory (zero-padded edges).
<%def name="local_loop()">
    __local ${at} As[${tk}][${tm}];
    __local ${at} Bs[${tk}][${tn}];
    const int tid = lid1 * ${wgn} + lid0;
    for (${idx} k0 = 0; k0 < K; k0 += ${tk}) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = tid; e < ${tk * tm}; e += ${nwi}) {
% if a_kunit:
            const int kk = e % ${tk}, mm = e / ${tk};
% else:
            const int mm = e % ${tm}, kk = e / ${tm};
% endif
            const ${idx} m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < K) ? ${cvt(f"A[m * {a_ms} + k * {a_ks}]")} : (${at})0;
        }
        for (int e = tid; e < ${tk * tn}; e += ${nwi}) {
            const int nn = e % ${tn}, kk = e / ${tn};
            const ${idx} n = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (n < N && k < K) ? ${cvt(f"B[k * b_rs + n * {b_ns}]")} : (${at})0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < ${tk}; ++kk) {
% for j in range(nv):
            const ${vt} b${j} = ${"Bs[kk][lid0 + %d * %d]" % (wgn, j) if vw == 1 else "vload%d(0, &Bs[kk][(lid0 + %d * %d) * %d])" % (vw, wgn, j, vw)};
% endfor
% for i in range(rm):
            const ${at} a${i} = As[kk][lid1 + ${wgm} * ${i}];
%   for j in range(nv):
            acc${i}_${j} += a${i} * b${j};
%   endfor
% endfor
        }
    }
</%def>

__kernel void ${name}(
    const ${idx} M, const ${idx} N, const ${idx} K, const ${at} alpha, const ${at} beta,
    __global const ${st} *A, ${idx} a_off, ${idx} a_bs, ${idx} a_rs, ${idx} a_cs,
    __global const ${st} *B, ${idx} b_off, ${idx} b_bs, ${idx} b_rs, ${idx} b_cs,
    __global const ${st} *C, ${idx} c_off, ${idx} c_bs, ${idx} c_rs, ${idx} c_cs,
    __global ${st} *D, ${idx} d_off, ${idx} d_bs, ${idx} d_rs, ${idx} d_cs)
{
    const ${idx} batch = get_group_id(2);
% if m_major:
    const ${idx} m0 = (${idx})get_group_id(0) * ${tm}, n0 = (${idx})get_group_id(1) * ${tn};
% else:
    const ${idx} n0 = (${idx})get_group_id(0) * ${tn}, m0 = (${idx})get_group_id(1) * ${tm};
% endif
    const int lid0 = get_local_id(0), lid1 = get_local_id(1);
    const bool inside = m0 + ${tm} <= M && n0 + ${tn} <= N;
    A += a_off + batch * a_bs;
    B += b_off + batch * b_bs;
% for i in range(rm):
%   for j in range(nv):
    ${vt} acc${i}_${j} = (${vt})0;
%   endfor
% endfor
% if local:
${local_loop()}
% elif dot:
    if (inside) {
${dot_loop(False)}
    } else {
${dot_loop(True)}
    }
% else:
    if (inside) {
${direct_loop(False)}
    } else {
${direct_loop(True)}
    }
% endif

    /* epilogue: D = alpha * acc + beta * C; rows/columns beyond M/N skipped on edge tiles */
    __global const ${st} *Cb = C + c_off + batch * c_bs;
    __global ${st} *Db = D + d_off + batch * d_bs;
    const bool plain = alpha == (${at})1 && beta == (${at})0;
% for i in range(rm):
%   for j in range(nv):
    {
        const ${idx} m = m0 + lid1 + ${wgm} * ${i}, cm = min(m, M - 1);
        const ${idx} n = n0 + (lid0 + ${wgn} * ${j}) * ${vw};
        ${vt} r = acc${i}_${j};
        if (!plain) {
            r *= alpha;
            if (beta != (${at})0) {
%     for v, lane in enumerate(lanes):
                r${lane} += beta * ${cvt(f"Cb[cm * c_rs + min(n + {v}, N - 1) * {c_ns}]")};
%     endfor
            }
        }
%     if vw > 1 and d_nunit and same:
        if (inside) {
            vstore${vw}(r, 0, Db + m * d_rs + n);
        } else
%     endif
        if (m < M) {
%     for v, lane in enumerate(lanes):
            if (n + ${v} < N) Db[m * d_rs + (n + ${v}) * ${d_ns}] = (${st})(r${lane});
%     endfor
        }
    }
%   endfor
% endfor
}
