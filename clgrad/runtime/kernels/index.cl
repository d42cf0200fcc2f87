## Indexing kernels. One template, three kernels (`kind`):
##   "check"    flag[0] |= 1 if some index of a (strided) index tensor is outside [low, bound)
##   "index"    for each element of an iteration shape: the data element at the position the
##              index tensors give, read into out ("read"), written from a value ("write") or
##              added to atomically ("add"); negative indices wrap
##   "nonzero"  compaction: element i with flag[i] != 0 writes its coordinates at cs[i] - 1
##
## Parameters
##   name       kernel name (kind, mode, dtypes, layout)
##   kind       "check", "index" or "nonzero"
##   data_type  C storage type of the indexed tensor ("index")
##   mode       "read", "write" or "add" ("index")
##   value      "buf" (a tensor of values / the output) or "scalar" ("index": write, add)
##   atomic     how "add" adds: "int", "long", "float" or "double" ("index")
##   itypes     C types of the index tensors, one per index tensor ("index"; "check": one)
##   ndim       number of (collapsed) iteration dims; "nonzero": dims of the coordinates
##   idx        index type: "int" when every offset fits in 31 bits, else "long"
##   fp64, fp16 enable the double / half extensions
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>
% if kind == "index" and mode == "add" and atomic in ("long", "double"):
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
% endif

% if kind == "check":
__kernel void ${name}(__global const ${itypes[0]} *ind, ${idx} ind_off,
% for d in range(ndim):
                      ${idx} size${d}, ${idx} ist${d},
% endfor
                      long low, long bound, __global int *flag, ${idx} n)
{
    ${idx} i = (${idx})get_global_id(0);
    if (i >= n) return;
    ${idx} q = ind_off, rem = i, c;
% for d in reversed(range(ndim)):
    c = rem % size${d}; rem = rem / size${d};
    q += c * ist${d};
% endfor
    const long j = (long)ind[q];
    if (j < low || j >= bound) atomic_or(flag, 1);
}
% elif kind == "index":
% if mode == "add" and atomic == "float":
## No plain load of *p: it would race with other work-items' compare-and-swaps. The first
## guess is 0 (+0.0), so the first cmpxchg also reads the value when the guess is wrong.
inline void atomic_add_value(volatile __global float *p, float v)
{
    uint old = 0, seen;
    while ((seen = atomic_cmpxchg((volatile __global uint *)p, old,
                                  as_uint(as_float(old) + v))) != old)
        old = seen;
}
% elif mode == "add" and atomic == "double":
inline void atomic_add_value(volatile __global double *p, double v)
{
    ulong old = 0, seen;
    while ((seen = atom_cmpxchg((volatile __global ulong *)p, old,
                                as_ulong(as_double(old) + v))) != old)
        old = seen;
}
% elif mode == "add":
#define atomic_add_value(p, v) ${"atom_add" if atomic == "long" else "atomic_add"}(p, v)
% endif

__kernel void ${name}(
    __global ${data_type} *data, ${idx} data_off,
% if value == "scalar":
    ${data_type} scalar,
% else:
    __global ${data_type} *vals, ${idx} val_off,
% endif
% for k, it in enumerate(itypes):
    __global const ${it} *ind${k}, ${idx} ind_off${k}, ${idx} bound${k}, ${idx} dst${k},
% endfor
% for d in range(ndim):
    ${idx} size${d}, ${idx} vst${d}, ${idx} dst_${d},
%   for k in range(len(itypes)):
    ${idx} ist${k}_${d},
%   endfor
% endfor
    ${idx} n)
{
    ${idx} i = (${idx})get_global_id(0);
    if (i >= n) return;
    ${idx} p = data_off, rem = i, c;
% if value == "buf":
    ${idx} v = val_off;
% endif
% for k in range(len(itypes)):
    ${idx} q${k} = ind_off${k};
% endfor
% for d in reversed(range(ndim)):
    c = rem % size${d}; rem = rem / size${d};
    p += c * dst_${d};
%   if value == "buf":
    v += c * vst${d};
%   endif
%   for k in range(len(itypes)):
    q${k} += c * ist${k}_${d};
%   endfor
% endfor
% for k in range(len(itypes)):
    {
        ${idx} j = (${idx})ind${k}[q${k}];
        p += (j < 0 ? j + bound${k} : j) * dst${k};
    }
% endfor
% if mode == "read":
    vals[v] = data[p];
% elif mode == "write":
    data[p] = ${"scalar" if value == "scalar" else "vals[v]"};
% else:
    atomic_add_value(&data[p], ${"scalar" if value == "scalar" else "vals[v]"});
% endif
}
% else:
__kernel void ${name}(__global const uchar *flag, __global const long *cs,
                      __global long *out, ${idx} pst, ${idx} kst,
% for d in range(ndim):
                      ${idx} size${d},
% endfor
                      ${idx} n)
{
    ${idx} i = (${idx})get_global_id(0);
    if (i >= n || !flag[i]) return;
    const ${idx} o = (${idx})(cs[i] - 1) * pst;
    ${idx} rem = i, c;
% for d in reversed(range(ndim)):
    c = rem % size${d}; rem = rem / size${d};
    out[o + ${d} * kst] = c;
% endfor
}
% endif
