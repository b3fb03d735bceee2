"""Reading the authors' official files into our classes: key renaming and Keras HDF5 arrays.

Each architecture module whose official file is not laid out as our class writes its mapping
as renaming rules (``rename``) or, for a Keras model, from the arrays ``read_keras_h5`` returns;
its ``ModelSpec.layout`` applies it when ``models.create`` loads the official file. Whatever a
mapping produces is then loaded strictly (``weights.load_into``): a key the rules do not know, a
key two rules send to one place, or a tensor our class lacks is an error that names it.
"""

import re
from pathlib import Path

import numpy as np
import torch

from ..weights import WeightsError


def rename(state: dict, rules: list, origin: str, drop: tuple = ()) -> dict:
    """``state`` with each key renamed by the first of ``rules`` that matches it: (regex, new)
    pairs, the regex matched against the whole key, ``new`` a ``re.Match.expand`` template or a
    function of the match (for index arithmetic). Keys matching
    one of the ``drop`` regexes are left out (tensors the authors' model holds but never uses);
    a key no rule matches, or two keys renamed alike, is refused."""
    rules = [(re.compile(pattern), template) for pattern, template in rules]
    drop = [re.compile(pattern) for pattern in drop]
    out, unknown = {}, []
    for key, value in state.items():
        if any(d.fullmatch(key) for d in drop):
            continue
        match = next((m for m in (p.fullmatch(key) for p, _ in rules) if m), None)
        if match is None:
            unknown.append(key)
            continue
        template = next(t for p, t in rules if p is match.re)
        new = template(match) if callable(template) else match.expand(template)
        if new in out:
            raise WeightsError(f"{origin}: two keys of the file map to {new!r}; it is not the layout this loader reads")
        out[new] = value
    if unknown:
        raise WeightsError(f"{origin} has keys the authors' layout does not have: {sorted(unknown)[:5]}"
                           f"{f' and {len(unknown) - 5} more' if len(unknown) > 5 else ''}; it is not that file")
    return out


def read_keras_h5(path: str | Path) -> dict:
    """The weights of a Keras 2 HDF5 file as ``{'<layer>/<weight name>': np.ndarray}`` (the
    dataset paths under ``model_weights`` for a whole saved model, under the root for
    ``save_weights``), in each layer's own order (its ``weight_names`` attribute). Read with
    h5py, never Keras: nothing in the file is executed."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            out = {}
            for layer in group.attrs["layer_names"]:
                layer = layer.decode() if isinstance(layer, bytes) else str(layer)
                for name in group[layer].attrs.get("weight_names", []):
                    name = name.decode() if isinstance(name, bytes) else str(name)
                    out[f"{layer}/{name}"] = np.asarray(group[layer][name])
    except (OSError, KeyError) as err:
        raise WeightsError(f"could not read {path} as a Keras 2 HDF5 model ({type(err).__name__}: "
                           f"{str(err)[:200]}); the file is corrupt or not one") from err
    return out


def keras_layers(arrays: dict, kinds: tuple, origin: str) -> dict:
    """``{kind: [(layer name, {weight name: array})]}`` for each layer class name of ``kinds``
    ('conv2d', 'batch_renormalization', ...) in ``arrays`` (``read_keras_h5``), in the order the
    model created them: Keras names a layer ``<kind>_<n>`` with one counter per kind (the first
    plain ``<kind>`` in later versions), so the numbers give the order whatever the counter
    started at. Weight names lose their scope ('kernel:0', 'gamma:0', ...). An array of any other
    layer is refused."""
    pattern = re.compile(rf"(({'|'.join(map(re.escape, kinds))})(?:_(\d+))?)/(?:.*/)?(?:\2(?:_\d+)?_)?([^/]+)")
    layers, unknown = {kind: {} for kind in kinds}, []
    for key, value in arrays.items():
        m = pattern.fullmatch(key)
        if m is None:
            unknown.append(key)
            continue
        layers[m.group(2)].setdefault((int(m.group(3) or 0), m.group(1)), {})[m.group(4)] = value
    if unknown:
        raise WeightsError(f"{origin} has weights of layers the authors' model does not have: {sorted(unknown)[:5]}; "
                           f"it is not that file")
    return {kind: [(name, found[(n, name)]) for n, name in sorted(found)] for kind, found in layers.items()}


def tensor(array, origin: str, key: str) -> torch.Tensor:
    """``array`` as a float32 tensor (a Keras file stores float32; anything else is refused)."""
    if not np.issubdtype(np.asarray(array).dtype, np.floating):
        raise WeightsError(f"{origin}: {key} holds {np.asarray(array).dtype} values, not floats")
    return torch.from_numpy(np.array(array, dtype=np.float32))
