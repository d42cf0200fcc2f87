## Row-wise bitonic sort of (key, index) pairs in a padded work buffer of rows x P (P the next
## power of two of the row length n). Comparing the index on equal keys makes the order total,
## so every sort is stable; padding (index >= n) sorts after every element. NaN sorts as the
## largest key, as in PyTorch.
##
## Parameters
##   name        kernel name (kind, dtype, direction, layout)
##   kind        "init": copy the (strided) rows into the work buffer and number them;
##               "step": one compare-exchange pass (stage k, distance j) of the network
##   key_type    C storage type of the keys
##   is_float    keys are floating point (NaN handling)
##   descending  sort from largest to smallest
##   ndim        number of (collapsed) batch dims a row number is unravelled over ("init")
##   idx         index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16  enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

% if kind == "init":
__kernel void ${name}(__global const ${key_type} *in, ${idx} in_off, ${idx} in_rs,
% for d in range(ndim):
                      ${idx} size${d}, ${idx} ist${d},
% endfor
                      __global ${key_type} *keys, __global int *ind, ${idx} n, ${idx} P,
                      ${idx} total)
{
    const ${idx} g = (${idx})get_global_id(0);
    if (g >= total) return;
    const ${idx} row = g / P, k = g - row * P;
    ind[g] = (int)k;
    if (k >= n) {
        keys[g] = 0;                      /* padding: never compared, kept initialised */
        return;
    }
    ${idx} p = in_off + k * in_rs, rem = row, c;
% for d in reversed(range(ndim)):
    c = rem % size${d}; rem = rem / size${d};
    p += c * ist${d};
% endfor
    keys[g] = in[p];
}
% else:
/* Whether key x (at index ix) comes strictly before key y (at index iy). */
inline int before(${key_type} x, int ix, ${key_type} y, int iy, int n)
{
    if (iy >= n) return ix < n || ix < iy;
    if (ix >= n) return 0;
% if descending:
%   if is_float:
    if (x > y || (isnan(x) && !isnan(y))) return 1;
    if (y > x || (isnan(y) && !isnan(x))) return 0;
%   else:
    if (x > y) return 1;
    if (y > x) return 0;
%   endif
% else:
%   if is_float:
    if (x < y || (isnan(y) && !isnan(x))) return 1;
    if (y < x || (isnan(x) && !isnan(y))) return 0;
%   else:
    if (x < y) return 1;
    if (y < x) return 0;
%   endif
% endif
    return ix < iy;
}

__kernel void ${name}(__global ${key_type} *keys, __global int *ind, ${idx} k, ${idx} j,
                      int n, ${idx} halfp, ${idx} total)
{
    const ${idx} t = (${idx})get_global_id(0);
    if (t >= total) return;
    const ${idx} row = t / halfp, i = t - row * halfp;
    const ${idx} lo = (i / j) * 2 * j + i % j, hi = lo + j;
    const ${idx} a = row * 2 * halfp + lo, b = row * 2 * halfp + hi;
    const ${key_type} ka = keys[a], kb = keys[b];
    const int ia = ind[a], ib = ind[b];
    const int up = (lo & k) == 0;
    if (up ? before(kb, ib, ka, ia, n) : before(ka, ia, kb, ib, n)) {
        keys[a] = kb; keys[b] = ka;
        ind[a] = ib; ind[b] = ia;
    }
}
% endif
