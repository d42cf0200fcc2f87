## Counter-based random numbers (Philox4x32-10): element i of a call is a pure function of
## (seed, offset + i), so a seed gives the same stream on every device and launch shape.
##
## Parameters
##   name       kernel name
##   out_type   C storage type of the output
##   ct         C type the value is computed in (float or double)
##   dist       "uniform" (a + (b - a) * U[0,1)), "normal" (a + b * N(0,1)),
##              "randint" (a + bits % (b - a), in long), "bits" (raw first 32-bit word)
##   fp64, fp16 enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

inline uint4 philox4x32_10(uint4 c, uint2 k)
{
% for r in range(10):
    {
        uint hi0 = mul_hi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        uint hi1 = mul_hi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
%   if r < 9:
        k.x += 0x9E3779B9u; k.y += 0xBB67AE85u;
%   endif
    }
% endfor
    return c;
}

% if ct == "double":
#define UNIT(hi, lo) ((double)(((ulong)((hi) >> 5) << 26) | ((lo) >> 6)) * 0x1.0p-53)
% else:
#define UNIT(hi, lo) ((float)((hi) >> 8) * 0x1.0p-24f)
% endif

__kernel void ${name}(__global ${out_type} *out, long out_off, ulong seed, ulong offset,
% if dist == "randint":
                      long a, long b,
% else:
                      ${ct} a, ${ct} b,
% endif
                      long n)
{
    long i = get_global_id(0);
    if (i >= n) return;
    ulong c = offset + (ulong)i;
    uint4 r = philox4x32_10((uint4)((uint)c, (uint)(c >> 32), 0u, 0u),
                            (uint2)((uint)seed, (uint)(seed >> 32)));
% if dist == "uniform":
    ${ct} u = UNIT(r.x, r.y);
    ${ct} v = a + (b - a) * u;
    out[out_off + i] = (${out_type})(v < b ? v : a);   /* rounding must not reach b */
% elif dist == "normal":
    ${ct} u1 = 1 - UNIT(r.x, r.y);                      /* (0, 1]: log is finite */
    ${ct} u2 = UNIT(r.z, r.w);
    out[out_off + i] = (${out_type})(a + b * sqrt(-2 * log(u1)) * cospi(2 * u2));
% elif dist == "randint":
    ulong bits = ((ulong)r.x << 32) | r.y;
    out[out_off + i] = (${out_type})(a + (long)(bits % (ulong)(b - a)));
% else:
    out[out_off + i] = (${out_type})r.x;
% endif
}
