## Sliding windows over the last two dims of an (N, C, H, W) tensor: the im2col / col2im
## pair that convolution, transposed convolution and pooling are written in.
##
##   "im2col"  cols[n, (c*KH + kh)*KW + kw, oh*OW + ow] = x[n, c, ih, iw] with
##             ih = oh*SH - PH + kh*DH, iw = ow*SW - PW + kw*DW, or `fill` where (ih, iw)
##             falls outside the input (padding, or windows past the end in ceil mode).
##             x has any layout; each column row (fixed n, c, kh, kw) is dense, rows are
##             `ck` apart and images `cn` apart. One work-item per element (GPUs), or per
##             column row, walking its OH*OW elements (`rows`: CPUs, no division each).
##   "col2im"  the adjoint: x[n, c, h, w] = the sum of every column element that im2col would
##             read from (h, w). One work-item per output element gathers its KH*KW
##             candidates, so there are no atomics and the sum's order is fixed.
##   "maxpool" out[n, c, oh, ow] = the maximum of the window im2col would read (positions
##             outside the input skipped) and where[n, c, oh, ow] its flat ih*W + iw: the
##             first maximum in window order, a NaN over anything (the last NaN), and the
##             first position inside the input when nothing beats `fill` (PyTorch's rules).
##
## Parameters
##   name      kernel name (kind, dtype, index type)
##   kind      "im2col", "col2im" or "maxpool"
##   ctype     C storage type of the data
##   acc       the dtype's arithmetic type: col2im sums in it, im2col's fill comes in it
##   rows      im2col: one work-item per (n, c, kh, kw) column row instead of per element
##   nan       whether the dtype has NaN (maxpool)
##   idx       index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16  enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>
## The arguments every kind ends with: channels, input and window-grid sizes, kernel, stride,
## padding, dilation (height then width) and the number of work-items.
<%def name="geometry()">${idx} C, ${idx} H, ${idx} W, ${idx} OH, ${idx} OW, ${idx} KH, \
${idx} KW, ${idx} SH, ${idx} SW, ${idx} PH, ${idx} PW, ${idx} DH, ${idx} DW, ${idx} total</%def>

% if kind == "im2col":
__kernel void ${name}(__global const ${ctype} *x, ${idx} x_off,
                      ${idx} sn, ${idx} sc, ${idx} sh, ${idx} sw,
                      __global ${ctype} *cols, ${idx} cn, ${idx} ck, ${acc} fill,
                      ${geometry()})
{
    const ${idx} i = (${idx})get_global_id(0);
    if (i >= total) return;
    ${idx} rem = i;
%   if not rows:
    const ${idx} ow = rem % OW; rem /= OW;
    const ${idx} oh = rem % OH; rem /= OH;
%   endif
    const ${idx} kw = rem % KW; rem /= KW;
    const ${idx} kh = rem % KH; rem /= KH;
    const ${idx} c = rem % C;
    const ${idx} n = rem / C;
    const ${idx} src = x_off + n * sn + c * sc;
    ${idx} dst = n * cn + ((c * KH + kh) * KW + kw) * ck;
%   if rows:
    for (${idx} oh = 0; oh < OH; ++oh) {
        const ${idx} ih = oh * SH - PH + kh * DH;
        const bool row_in = ih >= 0 && ih < H;
        for (${idx} ow = 0; ow < OW; ++ow) {
            const ${idx} iw = ow * SW - PW + kw * DW;
            cols[dst++] = (row_in && iw >= 0 && iw < W) ? x[src + ih * sh + iw * sw]
                                                        : (${ctype})fill;
        }
    }
%   else:
    const ${idx} ih = oh * SH - PH + kh * DH;
    const ${idx} iw = ow * SW - PW + kw * DW;
    cols[dst + oh * OW + ow] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
        ? x[src + ih * sh + iw * sw] : (${ctype})fill;
%   endif
}
% elif kind == "maxpool":
__kernel void ${name}(__global const ${ctype} *x, ${idx} x_off,
                      ${idx} sn, ${idx} sc, ${idx} sh, ${idx} sw,
                      __global ${ctype} *out, __global long *where, ${acc} fill,
                      ${geometry()})
{
    const ${idx} i = (${idx})get_global_id(0);
    if (i >= total) return;
    ${idx} rem = i;
    const ${idx} ow = rem % OW; rem /= OW;
    const ${idx} oh = rem % OH; rem /= OH;
    const ${idx} c = rem % C;
    const ${idx} n = rem / C;
    const ${idx} plane = x_off + n * sn + c * sc;
    ${acc} best = fill;
    long at = -1;
    for (${idx} kh = 0; kh < KH; ++kh) {
        const ${idx} ih = oh * SH - PH + kh * DH;
        if (ih < 0 || ih >= H) continue;
        for (${idx} kw = 0; kw < KW; ++kw) {
            const ${idx} iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const ${acc} v = (${acc})x[plane + ih * sh + iw * sw];
            if (at < 0) at = (long)ih * W + iw;
% if nan:
            if (v > best || isnan(v)) {
% else:
            if (v > best) {
% endif
                best = v;
                at = (long)ih * W + iw;
            }
        }
    }
    out[i] = (${ctype})best;
    where[i] = at;
}
% else:
__kernel void ${name}(__global const ${ctype} *cols, ${idx} c_off,
                      ${idx} s0, ${idx} s1, ${idx} s2,
                      __global ${ctype} *x,
                      ${geometry()})
{
    const ${idx} i = (${idx})get_global_id(0);
    if (i >= total) return;
    ${idx} rem = i;
    const ${idx} w = rem % W; rem /= W;
    const ${idx} h = rem % H; rem /= H;
    const ${idx} c = rem % C;
    const ${idx} n = rem / C;
    const ${idx} base = c_off + n * s0 + c * KH * KW * s1;
    ${acc} sum = 0;
    for (${idx} kh = 0; kh < KH; ++kh) {
        const ${idx} th = h + PH - kh * DH;       // oh * SH when (h, kh) is in window oh
        if (th < 0) break;                        // th only falls as kh grows
        const ${idx} oh = th / SH;
        if (oh * SH != th || oh >= OH) continue;
        for (${idx} kw = 0; kw < KW; ++kw) {
            const ${idx} tw = w + PW - kw * DW;
            if (tw < 0) break;
            const ${idx} ow = tw / SW;
            if (ow * SW != tw || ow >= OW) continue;
            sum += (${acc})cols[base + (kh * KW + kw) * s1 + (oh * OW + ow) * s2];
        }
    }
    x[i] = (${ctype})sum;
}
% endif
