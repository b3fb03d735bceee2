"""Reading a PaddlePaddle ``.pdparams`` file without running anything in it.

A ``.pdparams`` file is a Python pickle of ``{parameter name: numpy array}`` (``paddle.save``).
Plain ``pickle.load`` would call whatever the file names, so it is read here by an unpickler that
resolves exactly the names a pickled array needs (``numpy.core.multiarray._reconstruct``, or
``numpy._core.multiarray._reconstruct`` as numpy 2 writes it, ``numpy.ndarray``, ``numpy.dtype``,
and for pickle protocols 0-2 ``_codecs.encode``, admitted for latin-1 text only) and refuses every
other global, persistent id and extension code before anything is called. Arrays must hold
numbers (an object array is refused), and each key is a string.
"""

import pickle
from pathlib import Path

import numpy as np

from .checks import flat
from .weights import WeightsError

_RECONSTRUCT = np.zeros(1).__reduce__()[0]  # numpy's array rebuilder, wherever this numpy keeps it


def _latin1(text, encoding="latin1"):
    """``_codecs.encode`` as pickle protocols 0-2 use it for bytes (an array's raw data), and no more."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise WeightsError("refused to load: the file calls _codecs.encode other than to rebuild an array's bytes")
    return text.encode("latin1")


ALLOWED_GLOBALS = {("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
                   ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1}
"""The only globals a ``.pdparams`` file may name: what rebuilding a numpy array takes (the
latin-1 ``_codecs.encode`` that pickle protocols 0-2 write for raw bytes, restricted to that)."""


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that resolves ``ALLOWED_GLOBALS`` and nothing else."""

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise WeightsError(f"refused to load: the file names the global {module}.{name}, and a "
                               f".pdparams file may only hold numpy arrays (loading it with plain pickle "
                               f"could run code); it is not a PaddlePaddle weight file, do not load it") from None

    def persistent_load(self, pid):
        raise WeightsError("refused to load: the file holds a persistent reference; a .pdparams file only "
                           "holds numpy arrays")


def read_pdparams(path: str | Path, skip: tuple = ()) -> dict:
    """``{name: np.ndarray}`` of the PaddlePaddle file ``path``, read with ``_ArraysOnly``.

    ``skip``: names of non-array entries to leave out (Paddle's ``StructuredToParameterName@@``
    table); any other entry that is not an array of numbers is refused (``WeightsError``)."""
    try:
        with open(path, "rb") as f:
            state = _ArraysOnly(f).load()
    except WeightsError:
        raise
    except Exception as err:  # truncated or not a pickle
        raise WeightsError(f"could not read {path} as a PaddlePaddle .pdparams file ({type(err).__name__}: "
                           f"{flat(str(err))[:200]}); the file is corrupt or not one") from err
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a PaddlePaddle dict of arrays")
    arrays = {}
    for key, value in state.items():
        if key in skip:
            continue
        if not isinstance(key, str) or not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
            kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise WeightsError(f"{path}: entry {key!r} is {kind}, not an array of numbers; it is not a "
                               f"PaddlePaddle weight file")
        arrays[key] = value
    return arrays
