## Inclusive scan along one dim (cumsum, cumprod): one work-item per (row, block) walks its
## block of a row. Long rows take three launches: "sums" writes each block's total, those
## totals are scanned (the same kernel, recursively) and "scan" restarts every block from the
## scanned totals of the blocks before it; short rows take one "scan" launch with one block.
##
## Parameters
##   name      kernel name (op, dtypes, mode, layout)
##   in_type   C storage type of the input
##   out_type  C storage type of the output (bool is stored as uchar)
##   acc       C type the running value is kept in (double for float32 where the device has
##             fp64, long for integers)
##   op        "add" or "mul"
##   mode      "sums": write each block's total to out[g] (a dense acc buffer);
##             "scan": write the running value of every element
##   carry     "scan" starts block blk > 0 of a row from carry[g - 1] (the inclusive scan of
##             the block totals); without it every row is a single block
##   ndim      number of (collapsed) batch dims the row number is unravelled over
##   idx       index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16  enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

% if op == "add":
#define COMBINE(a, b) ((a) + (b))
#define IDENTITY ((${acc})0)
% else:
#define COMBINE(a, b) ((a) * (b))
#define IDENTITY ((${acc})1)
% endif

__kernel void ${name}(
    __global const ${in_type} *in, ${idx} in_off, ${idx} in_rs,
% if mode == "sums":
    __global ${acc} *out,
% else:
    __global ${out_type} *out, ${idx} out_off, ${idx} out_rs,
% endif
% if carry:
    __global const ${acc} *carry,
% endif
% for d in range(ndim):
    ${idx} size${d}, ${idx} ist${d}, ${idx} ost${d},
% endfor
    ${idx} n, ${idx} block, ${idx} blocks, ${idx} total)
{
    const ${idx} g = (${idx})get_global_id(0);
    if (g >= total) return;
    const ${idx} row = g / blocks, blk = g - row * blocks;
    ${idx} p = in_off, rem = row, c;
% if mode == "scan":
    ${idx} o = out_off;
% endif
% for d in reversed(range(ndim)):
    c = rem % size${d}; rem = rem / size${d};
    p += c * ist${d};
%   if mode == "scan":
    o += c * ost${d};
%   endif
% endfor
    const ${idx} first = blk * block;
    const ${idx} last = min(first + block, n);
% if carry:
    ${acc} a = blk > 0 ? carry[g - 1] : IDENTITY;
% else:
    ${acc} a = IDENTITY;
% endif
    p += first * in_rs;
% if mode == "scan":
    o += first * out_rs;
% endif
    for (${idx} k = first; k < last; ++k) {
        a = COMBINE(a, (${acc})in[p]);
        p += in_rs;
% if mode == "scan":
        out[o] = (${out_type})a;
        o += out_rs;
% endif
    }
% if mode == "sums":
    out[g] = a;
% endif
}
