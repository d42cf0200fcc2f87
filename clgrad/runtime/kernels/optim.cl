## Fused optimizer updates: one launch updates a parameter and its state in place.
##
## Parameters
##   name        kernel name (algorithm, dtype, variant flags, index type)
##   algo        "sgd", "adam", "rmsprop" or "adagrad"
##   st          C storage type of the parameter, gradient and state buffers
##   ct          C type the update computes in ("opmath": half computes in float)
##   idx         index type: "int" when every offset fits in 31 bits, else "long"
##   chunk       elements per work-item, walked contiguously (CPU devices; GPUs use 1)
##   maximize    ascend instead of descend (negate the gradient)
##   weight_decay  apply weight decay (L2 added to the gradient; decoupled for AdamW)
##   sgd:   momentum (keep a momentum buffer), nesterov (Nesterov momentum)
##   adam:  amsgrad (keep max_exp_avg_sq), decoupled (AdamW: param *= 1 - lr * wd first)
##   rmsprop: momentum (keep momentum_buffer), centered (keep grad_avg, subtract its square)
##   adagrad: no further flags (the step's decayed learning rate comes from the host)
##   fp64, fp16  enable the double / half extensions
##
## Every buffer is dense with its own element offset; n is the element count. The formulas
## follow PyTorch's single-tensor implementations operation by operation.
<%include file="extensions.cl" args="fp64=fp64, fp16=fp16"/>

% if algo == "sgd":
/* first != 0: the momentum buffer is uninitialised and takes the (decayed) gradient */
__kernel void ${name}(
    __global ${st} *param, ${idx} p_off,
    __global const ${st} *grad, ${idx} g_off,
    __global ${st} *buf, ${idx} b_off,
    ${ct} neg_lr, ${ct} wd, ${ct} momentum, ${ct} one_minus_dampening, int first,
    ${idx} n)
% elif algo == "rmsprop":
/* without momentum / centered the kernel ignores the momentum_buffer / grad_avg arguments */
__kernel void ${name}(
    __global ${st} *param, ${idx} p_off,
    __global const ${st} *grad, ${idx} g_off,
    __global ${st} *square_avg, ${idx} v_off,
    __global ${st} *grad_avg, ${idx} a_off,
    __global ${st} *momentum_buffer, ${idx} b_off,
    ${ct} neg_lr, ${ct} wd, ${ct} alpha, ${ct} one_minus_alpha, ${ct} eps, ${ct} momentum,
    ${idx} n)
% elif algo == "adagrad":
__kernel void ${name}(
    __global ${st} *param, ${idx} p_off,
    __global const ${st} *grad, ${idx} g_off,
    __global ${st} *state_sum, ${idx} s_off,
    ${ct} neg_clr, ${ct} wd, ${ct} eps,
    ${idx} n)
% else:
__kernel void ${name}(
    __global ${st} *param, ${idx} p_off,
    __global const ${st} *grad, ${idx} g_off,
    __global ${st} *exp_avg, ${idx} m_off,
    __global ${st} *exp_avg_sq, ${idx} v_off,
    __global ${st} *max_exp_avg_sq, ${idx} x_off,
    ${ct} decay, ${ct} wd, ${ct} one_minus_beta1, ${ct} beta2, ${ct} one_minus_beta2,
    ${ct} neg_step_size, ${ct} bias_correction2_sqrt, ${ct} eps,
    ${idx} n)
% endif
{
    const ${idx} start = (${idx})get_global_id(0) * ${chunk};
    const ${idx} stop = min(start + ${chunk}, n);
    for (${idx} i = start; i < stop; ++i) {
        ${ct} p = (${ct})param[p_off + i];
% if maximize:
        ${ct} g = -(${ct})grad[g_off + i];
% else:
        ${ct} g = (${ct})grad[g_off + i];
% endif
% if algo == "sgd":
%   if weight_decay:
        g = g + wd * p;
%   endif
%   if momentum:
        ${ct} b;
        if (first) {
            b = g;
        } else {
            b = (${ct})buf[b_off + i] * momentum;
            b = b + one_minus_dampening * g;
        }
        buf[b_off + i] = (${st})b;
%     if nesterov:
        g = g + momentum * b;
%     else:
        g = b;
%     endif
%   endif
        p = p + neg_lr * g;
% elif algo == "rmsprop":
%   if weight_decay:
        g = g + wd * p;
%   endif
        /* square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha) */
        ${ct} v = (${ct})square_avg[v_off + i] * alpha;
        v = v + one_minus_alpha * g * g;
        square_avg[v_off + i] = (${st})v;
%   if centered:
        /* grad_avg.lerp_(grad, 1 - alpha); avg = square_avg.addcmul(grad_avg, grad_avg, -1) */
        ${ct} a = (${ct})grad_avg[a_off + i];
        a = fabs(one_minus_alpha) < (${ct})0.5 ? a + one_minus_alpha * (g - a)
                                               : g - (g - a) * ((${ct})1 - one_minus_alpha);
        grad_avg[a_off + i] = (${st})a;
        ${ct} avg = sqrt(v + (${ct})(-1) * a * a) + eps;
%   else:
        ${ct} avg = sqrt(v) + eps;
%   endif
%   if momentum:
        /* buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr) */
        ${ct} b = (${ct})momentum_buffer[b_off + i] * momentum;
        b = b + g / avg;
        momentum_buffer[b_off + i] = (${st})b;
        p = p + neg_lr * b;
%   else:
        p = p + neg_lr * (g / avg);
%   endif
% elif algo == "adagrad":
%   if weight_decay:
        g = g + wd * p;
%   endif
        /* state_sum.addcmul_(grad, grad, value=1); param.addcdiv_(grad, std, value=-clr) */
        ${ct} s = (${ct})state_sum[s_off + i];
        s = s + g * g;
        state_sum[s_off + i] = (${st})s;
        p = p + neg_clr * (g / (sqrt(s) + eps));
% else:
%   if weight_decay and decoupled:
        p = p * decay;
%   elif weight_decay:
        g = g + wd * p;
%   endif
        /* exp_avg.lerp_(grad, 1 - beta1), with lerp's two-sided formula */
        ${ct} m = (${ct})exp_avg[m_off + i];
        m = fabs(one_minus_beta1) < (${ct})0.5 ? m + one_minus_beta1 * (g - m)
                                               : g - (g - m) * ((${ct})1 - one_minus_beta1);
        /* exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2) */
        ${ct} v = (${ct})exp_avg_sq[v_off + i] * beta2;
        v = v + one_minus_beta2 * g * g;
        exp_avg[m_off + i] = (${st})m;
        exp_avg_sq[v_off + i] = (${st})v;
%   if amsgrad:
        ${ct} x = (${ct})max_exp_avg_sq[x_off + i];
        x = (isnan(x) || x > v) ? x : v;            /* torch.maximum propagates NaN */
        max_exp_avg_sq[x_off + i] = (${st})x;
        ${ct} denom = sqrt(x) / bias_correction2_sqrt + eps;
%   else:
        ${ct} denom = sqrt(v) / bias_correction2_sqrt + eps;
%   endif
        p = p + neg_step_size * (m / denom);
% endif
        param[p_off + i] = (${st})p;
    }
}
