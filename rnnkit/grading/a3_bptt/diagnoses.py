"""a3-bptt: the output dimensions and the diagnosis each classic BPTT mistake is named by."""
from __future__ import annotations


_DIMS = {"X": "T B D", "x": "B D", "h0": "B H", "h_prev": "B H", "Hs": "T B H", "h": "B H",
         "dX": "T B D", "dx": "B D", "dh0": "B H", "dh_prev": "B H", "dWx": "H D", "dWs": "H H", "db": "H",
         "dHs": "T B H", "dWy": "K H", "dc": "K"}

# Diagnoses of the classic mistakes. Each is the outcome of a buggy variant below.
NO_CARRY = ("the gradient coming back from step t+1 is not added, so only the last step is right. "
            "At each step the state receives dHs[t] plus the gradient passed back from step t+1 "
            "(dh_next = δ⁽ᵗ⁺¹⁾ @ Ws); carry it through the backward loop.")
H_FOR_H_PREV = ("dWs uses h⁽ᵗ⁾ where h⁽ᵗ⁻¹⁾ belongs: the state that entered step t is Hs[t-1] "
                "(and h0 at t=1), so dWs = Σₜ δ⁽ᵗ⁾ᵀ @ h⁽ᵗ⁻¹⁾.")
NO_TANH_PRIME = ("the tanh′ factor is missing: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) is the gradient with respect to "
                 "the pre-activation a⁽ᵗ⁾, and every parameter gradient is built from δ.")
CARRY_SKIPS_TANH = ("the gradient passed back to h⁽ᵗ⁻¹⁾ skips tanh′: it must be δ⁽ᵗ⁾ @ Ws with "
                    "δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²), not dh @ Ws.")
CARRY_WS_T = ("the gradient passed back to h⁽ᵗ⁻¹⁾ uses Ws.T: the forward pass computes h_prev @ Ws.T for a "
              "batch of row vectors, so the gradient goes back as δ @ Ws.")
ONLY_LAST = ("gradients not summed over time: only the contribution of the last step t=T is there. "
             "Wx, Ws and b are shared by all steps, so their gradients are sums over t (use +=).")
ONLY_FIRST = ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
              "visits) survives, as if each step overwrote the previous value with = instead of adding with +=.")
TRANSPOSED_WS = ("dWs is transposed: for h_prev @ Ws.T the gradient is δᵀ @ h_prev, shape (H_out, H_in), "
                 "not h_prevᵀ @ δ.")
BATCH_MEAN = ("the gradient is divided by the batch size B: the loss here is a sum over the batch, "
              "so the gradients are sums too.")
DB_NOT_SUMMED = "db still has the batch axis: sum δ over the batch (axis 0) to get shape (H,)."
DB_NOT_SUMMED_SEQ = "db still has the time and/or batch axes: sum δ over time and batch to get shape (H,)."
TANH_PRIME_OF_H_PREV = ("tanh′ is taken of the wrong state: δ = dh ⊙ (1 − h²) uses h = cache[2], the state this "
                        "step produced, not h_prev (the state that entered it).")
TANH_PRIME_WRONG_STATE = ("tanh′ is taken of the wrong state: δ⁽ᵗ⁾ = dh ⊙ (1 − h⁽ᵗ⁾²) uses h⁽ᵗ⁾ = Hs[t], the "
                          "state step t produced, not h⁽ᵗ⁻¹⁾ (Hs[t-1], or h0 at t=1), the state that entered it.")
CARRY_AFTER_TANH = ("the carried gradient is added after the tanh′ factor: δ⁽ᵗ⁾ = dHs[t] ⊙ (1 − h⁽ᵗ⁾²) + dh_next "
                    "lets dh_next skip tanh′. Add first, then multiply: δ⁽ᵗ⁾ = (dHs[t] + dh_next) ⊙ (1 − h⁽ᵗ⁾²).")
HS_LAST_AS_H0 = ("at t=1 dWs pairs δ⁽¹⁾ with Hs[-1], the last state h⁽ᵀ⁾ (Hs[t-1] with t=0 wraps around), "
                 "instead of h⁽⁰⁾ = h0: the state that entered step 1 is h0.")
DHS_IGNORED = ("dHs[t] is added only at t=T: every earlier state receives only the gradient carried back from "
               "step t+1, as if the loss read the last state alone. The gradient reaching h⁽ᵗ⁾ is "
               "dHs[t] + dh_next at every step.")

NO_TANH = "tanh is missing: h = tanh(a) with a = x @ Wx.T + h_prev @ Ws.T + b."
WS_NOT_T = ("the state-to-state product uses Ws instead of Ws.T: with row vectors (B, H), "
            "Ws h⁽ᵗ⁻¹⁾ is written h_prev @ Ws.T.")
NO_BIAS = "the bias b is missing from the pre-activation."
NOT_CARRIED = ("the state is not carried: every step starts from h0 instead of the previous step's h⁽ᵗ⁻¹⁾.")
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state *after* reading x⁽ᵗ⁾, i.e. h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."
H0_IGNORED = ("h0 is ignored: the first step starts from zeros (h_prev = Hs[t-1] at t=0 reads Hs[-1], a row "
              "not filled yet) instead of h⁽⁰⁾ = h0.")

OUT_ONLY_LAST = ("dWy / dc hold only the last step: Wy and c are used at every step, so their gradients "
                 "are sums over t (and over the batch).")
DWY_TRANSPOSED = "dWy is transposed: it has the shape of Wy, (K, H), computed as dOᵀ @ Hs summed over time."
DC_NOT_SUMMED = "dc still has the time and/or batch axes: sum dO over time and batch to get shape (K,)."
DHS_SUMMED_OVER_TIME = ("dHs must be dO @ Wy (each state feeds only its own step's output): no sum over time "
                        "here.")
