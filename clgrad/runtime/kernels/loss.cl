## Cross entropy of (N, C) logits with class-index targets, fused: log-softmax, the pick of the
## target's log-probability and the class weight in one pass per row, and its gradient in one
## pass per element.
##
##   "forward"   per row i (one work-item): lse[i] = log(sum_c exp(x[i, c])) (max-shifted),
##               and with t = target[i], w = weight[t] (1 without weights):
##               loss[i] = (lse[i] - x[i, t]) * w, rw[i] = w; both 0 where t == ignore_index;
##               a target outside [0, C) (and not ignored) sets *flag
##   "backward"  per element: grad[i, c] = scale[i * sst] * rw[i] * (exp(x[i, c] - lse[i])
##               - (c == target[i])), 0 on ignored rows; lse is kept in the `acc` type
##
## Parameters
##   name        kernel name (kind, dtype, weights, index type)
##   kind        "forward" or "backward"
##   ctype       C storage type of the logits (and of loss, rw, lse, scale, grad)
##   acc         the type sums and exponentials are computed in (float for half)
##   weighted    class weights given (a C-element vector)
##   idx         index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16  enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

% if kind == "forward":
__kernel void ${name}(__global const ${ctype} *x, ${idx} x_off, ${idx} rs, ${idx} cs,
                      __global const long *target, ${idx} t_off, ${idx} ts,
% if weighted:
                      __global const ${ctype} *weight, ${idx} w_off, ${idx} ws,
% endif
                      long ignore, __global ${ctype} *loss, __global ${ctype} *rw,
                      __global ${acc} *lse, __global int *flag, ${idx} C, ${idx} N)
{
    const ${idx} i = (${idx})get_global_id(0);
    if (i >= N) return;
    __global const ${ctype} *row = x + x_off + i * rs;
    ${acc} m = (${acc})row[0];
    for (${idx} c = 1; c < C; ++c)
        m = fmax(m, (${acc})row[c * cs]);
    ${acc} s = 0;
    for (${idx} c = 0; c < C; ++c)
        s += exp((${acc})row[c * cs] - m);
    const ${acc} l = m + log(s);
    lse[i] = l;
    const long t = target[t_off + i * ts];
    if (t == ignore || t < 0 || t >= C) {
        if (t != ignore) atomic_or(flag, 1);
        loss[i] = (${ctype})0;
        rw[i] = (${ctype})0;
        return;
    }
% if weighted:
    const ${acc} w = (${acc})weight[w_off + t * ws];
% else:
    const ${acc} w = 1;
% endif
    loss[i] = (${ctype})((l - (${acc})row[t * cs]) * w);
    rw[i] = (${ctype})w;
}
% else:
__kernel void ${name}(__global const ${ctype} *x, ${idx} x_off, ${idx} rs, ${idx} cs,
                      __global const long *target, ${idx} t_off, ${idx} ts,
                      __global const ${ctype} *rw, __global const ${acc} *lse,
                      __global const ${ctype} *scale, ${idx} s_off, ${idx} sst, long ignore,
                      __global ${ctype} *grad, ${idx} C, ${idx} total)
{
    const ${idx} e = (${idx})get_global_id(0);
    if (e >= total) return;
    const ${idx} i = e / C, c = e - i * C;
    const long t = target[t_off + i * ts];
    if (t == ignore) {                 /* a zero class weight still passes scale's NaN */
        grad[e] = (${ctype})0;
        return;
    }
    const ${acc} w = (${acc})rw[i];
    const ${acc} p = exp((${acc})x[x_off + i * rs + c * cs] - lse[i]);
    const ${acc} hit = t == (long)c ? (${acc})1 : (${acc})0;
    grad[e] = (${ctype})((${acc})scale[s_off + i * sst] * w * (p - hit));
}
% endif
