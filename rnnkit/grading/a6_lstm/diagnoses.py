"""a6-lstm: the gate layout, and the diagnosis each classic LSTM mistake is named by."""
from __future__ import annotations


_DIMS = {"h": "B H", "c": "B H", "Hs": "T B H", "dx": "B D", "dh_prev": "B H", "dc_prev": "B H",
         "dW": "4H H+D", "db": "4H", "dX": "T B D", "dh0": "B H", "dc0": "B H"}

GATES = ("i", "f", "o", "g")
GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "o": "output gate o", "g": "candidate g"}
#: The gradient of each gate's value, before its activation's derivative
#: (dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), the gradient that reaches the new cell state).
GATE_UPSTREAM = {"i": "di = dc_total ⊙ g", "f": "df = dc_total ⊙ c_(t−1)", "o": "do = dh ⊙ tanh(c)",
                 "g": "dg = dc_total ⊙ i"}

GATE_ORDER = ("the gate order is wrong: the row blocks of W (and of dW, db) are i, f, o, g — "
              "W[:H] input gate, W[H:2H] forget gate, W[2H:3H] output gate, W[3H:] candidate g.")
STACK_ORDER = ("W acts on [h_prev, x] in that order: its first H columns multiply h_prev, "
               "the last D columns multiply x.")
G_NOT_TANH = "the candidate g must use tanh (the three gates i, f, o use the sigmoid)."
H_NO_TANH = "h = o ⊙ tanh(c): the tanh of the cell state is missing."
NO_FORGET_FWD = "the forget gate is missing from the cell update: c = f ⊙ c_prev + i ⊙ g."
NO_CELL_CARRY = ("the cell-state carry is missing: the gradient dc arriving from step t+1 must be added to "
                 "the one that comes through h (dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c)).")
NO_FORGET_BWD = ("the forget gate is forgotten on the cell path: the gradient passed back to c_prev is "
                 "dc_total ⊙ f, not dc_total.")
NO_SIGMA_PRIME = ("σ′ is missing: the gradients of the pre-activations of i, f and o are multiplied by "
                  "σ′ = s(1 − s), where s is the gate's value.")
NO_TANH_C_PRIME = ("tanh′ of the cell is missing: the gradient from h reaches c as dh ⊙ o ⊙ (1 − tanh²c).")
NO_G_TANH_PRIME = "tanh′ of the candidate is missing: dg is multiplied by (1 − g²) before it reaches W."
C_FOR_C_PREV = "df uses c_t where c_(t−1) belongs: the forget gate multiplies the previous cell state."
DC_PREV_NO_H = ("dc_prev = dc ⊙ f leaves out the gradient that comes through h: the cell gradient passed back "
                "is dc_total ⊙ f with dc_total = dc + dh ⊙ o ⊙ (1 − tanh²c), the same total that feeds di, df "
                "and dg.")
DX_DH_SWAPPED = ("dx and dh_prev are swapped: dz = δ @ W splits as dh_prev = dz[:, :H] (the state comes first "
                 "in [h_prev, x]) and dx = dz[:, H:].")
DW_STACK_ORDER = ("dW's columns are in the wrong order: dW = δᵀ @ [h_prev, x] (state first, then input), "
                  "the layout of W.")
NO_H_CARRY = ("the gradient coming back from step t+1 through h is not added, so only the last step is right: "
              "each step receives dHs[t] plus dh_prev from step t+1.")
ONLY_LAST = ("gradients not summed over time: only the last step's contribution is there; W and b are "
             "shared by all steps, so their gradients are sums over t.")
ONLY_FIRST = ("gradients not summed over time: only the contribution of t=1 (the last step a backward loop "
              "visits) survives — use += instead of =.")
TRANSPOSED_DW = "dW is transposed: it has the shape of W, (4H, H+D), computed as δᵀ @ [h_prev, x]."
NOT_CARRIED_C = "the cell state is not carried: every step must start from the previous step's c, not from c0."
NOT_CARRIED_H = "the hidden state is not carried: every step must start from the previous step's h, not from h0."
SHIFTED = ("Hs is shifted by one step: Hs[t] must hold the state after reading X[t], h⁽¹⁾ … h⁽ᵀ⁾, "
           "not h⁽⁰⁾ … h⁽ᵀ⁻¹⁾.")
WITH_H0 = "Hs includes h0: return only the T new states h⁽¹⁾ … h⁽ᵀ⁾, shape (T, B, H)."
HOLDS_C = "Hs holds the cell states: it must hold the hidden states h⁽ᵗ⁾ (the first value the step returns)."
REVERSED_HS = "Hs is in reverse time order: Hs[t] is the state after reading X[t], h⁽¹⁾ first."
DX_REVERSED = "dX is in reverse time order: dX[t] is the gradient of X[t], from the call with caches[t]."
DH0_INPUT = ("dh0 is the gradient that entered step t=1 (dHs[0] + dh_next), not the one it passes back: "
             "return the dh_prev of the call for t=1.")
DC0_INPUT = ("dc0 is the cell gradient that entered step t=1, not the one it passes back: return the dc_prev "
             "of the call for t=1.")
