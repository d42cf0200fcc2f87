## Shared header: enables the OpenCL extensions the kernel's dtypes need.
##
## Parameters
##   fp64, fp16  enable the double / half extensions (pass them: <%include args="...">)
<%page args="fp64=False, fp16=False"/>
% if fp64:
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
% endif
% if fp16:
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
% endif
