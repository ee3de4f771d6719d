"""rnnkit: recurrent networks in numpy, as forward/backward pairs.

The library behind the course *Recurrent Neural Networks, from the unrolled
graph to the LSTM*. Dimension legend used throughout: T time, B batch,
D input, H hidden, K output. Sequences are time-major ``(T, B, D)``; weights
are ``(out, in)``. Notation: ``Wx`` (Goodfellow's U), ``Ws`` (W), ``Wy`` (V),
biases ``b`` and ``c`` — see :mod:`rnnkit.notation`.
"""
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _layers
from .gradcheck import GradReport, check_layer_gradients, gradient_error, numerical_gradient, rel_error
from .models import HiddenToHiddenRNN, OutputToHiddenRNN, SequenceToOneRNN, init_params
from .tbptt import tbptt_loss_and_grads
from .optim import SGD, Adagrad, Adam, clip_by_global_norm, clip_by_value, global_norm
from .data import (CORPUS_PARTS, NO_TOKEN, ReberGrammar, Vocab, adding_problem, copy_task, delayed_recall,
                   lm_batches, load_corpus, load_text, one_hot, shift_right)
from .birnn import BiRNNCache, BidirectionalRNN, birnn_backward, birnn_forward
from .stats import RateInterval, intervals_overlap, wilson_interval
from .multiseed import MultiSeedRNN
from .multiseed_training import SeedRun, clip_by_global_norm_per_seed, train_until_solved
from .sampling import generate_text, sample_from_logits
from .notation import (NAME_TABLE, goodfellow_to_rnnkit, gru_from_torch, gru_to_torch, lstm_from_torch,
                       lstm_to_torch, rnn_from_torch, rnn_to_torch, rnnkit_to_goodfellow)

__version__ = "0.1.0"
__all__ = list(_layers) + [
    "GradReport", "check_layer_gradients", "gradient_error", "numerical_gradient", "rel_error",
    "HiddenToHiddenRNN", "OutputToHiddenRNN", "SequenceToOneRNN", "init_params",
    "tbptt_loss_and_grads",
    "SGD", "Adagrad", "Adam", "clip_by_global_norm", "clip_by_value", "global_norm",
    "ReberGrammar", "Vocab", "adding_problem", "copy_task", "delayed_recall", "lm_batches", "load_text", "one_hot",
    "CORPUS_PARTS", "load_corpus", "NO_TOKEN", "shift_right",
    "BiRNNCache", "BidirectionalRNN", "birnn_forward", "birnn_backward",
    "generate_text", "sample_from_logits",
    "RateInterval", "intervals_overlap", "wilson_interval",
    "MultiSeedRNN", "SeedRun", "clip_by_global_norm_per_seed", "train_until_solved",
    "NAME_TABLE", "goodfellow_to_rnnkit", "rnnkit_to_goodfellow", "rnn_to_torch", "rnn_from_torch",
    "lstm_to_torch", "lstm_from_torch", "gru_to_torch", "gru_from_torch",
]
