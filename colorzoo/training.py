"""Training: each architecture's recipe from its report, the callbacks people expect, ``train()``.

Example:

>>> model = build_model("resnet18_decoder", image_size=128)
>>> compile_model(model)                       # Adam 1e-3 + MSE, the report's recipe
>>> model.fit(make_dataset("photos/", 128, 16), epochs=10)

or the whole run, with checkpoints, backups, logs and sample grids in ``runs/resnet``:

>>> train("resnet18_decoder", "photos/", val="val_photos/", image_size=128, epochs=10, out_dir="runs/resnet")
"""

import contextlib
import inspect
import json
import numbers
import os
import random
import warnings

import keras
import numpy as np
import tensorflow as tf

from colorzoo import color, files
from colorzoo.inference import artifact_of, chroma_of_output, model_spec, predictor_at, traced_predictor
from colorzoo.models import build_model, model_info

STRATEGIES = ("mirrored", "multiworker", "tpu")
SEED_RANGE = 2**31  # seeds a run draws for itself (train without a seed)


# === Recipes ===


def compile_model(model, name=None, optimizer=None, learning_rate=None, loss=None, **compile_kwargs):
    """Compile ``model`` with the recipe registered for ``name`` (default: ``model.name``).

    ``optimizer`` (a name or an instance, which keeps its own learning rate), ``learning_rate``
    and ``loss`` (anything ``model.compile`` takes) override the recipe; other keyword arguments
    go to ``model.compile`` (e.g. ``jit_compile``, ``metrics``).
    """
    recipe = model_info(name or model.name).recipe
    if isinstance(optimizer, keras.optimizers.Optimizer) and learning_rate is not None:
        raise ValueError("give the learning rate to the optimizer instance, not to compile_model")
    learning_rate = learning_rate if learning_rate is not None else recipe["learning_rate"]
    if optimizer is None:
        schedule = recipe.get("schedule")
        optimizer = keras.optimizers.get(
            {
                "class_name": recipe["optimizer"],
                "config": {
                    "learning_rate": schedule(learning_rate) if schedule else learning_rate,
                    **recipe.get("optimizer_kwargs", {}),
                },
            }
        )
    elif isinstance(optimizer, str):
        optimizer = keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    if loss is None:  # the recipe's loss: a Keras loss name, or a function returning a Loss
        loss = recipe["loss"]() if callable(recipe["loss"]) else recipe["loss"]
    model.compile(optimizer=loss_scaled(optimizer, model), loss=loss, **compile_kwargs)
    return model


@keras.saving.register_keras_serializable(package="colorzoo")
class ReplicaSafeLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras's ``LossScaleOptimizer`` whose replicas agree on skipping a step.

    Under a distribution strategy Keras decides whether the gradients are finite from the first
    replica's own gradients, then applies the sum over all replicas: when only another replica
    overflows, infinite gradients reach the weights and the loss scale is not lowered (Keras 3.15).
    Here any replica's overflow makes every replica's gradients NaN, so all skip the step and the
    scale goes down, as on one device.

    >>> optimizer = ReplicaSafeLossScaleOptimizer(keras.optimizers.Adam(2e-4))
    """

    def apply(self, grads, trainable_variables=None):
        replica = tf.distribute.get_replica_context()
        if replica is not None and replica.num_replicas_in_sync > 1:
            overflow = tf.cast(tf.logical_not(self.check_finite(grads)), tf.float32)
            skip = replica.all_reduce(tf.distribute.ReduceOp.SUM, overflow) > 0
            poison = tf.where(skip, float("nan"), 0.0)
            grads = [None if grad is None else grad + tf.cast(poison, grad.dtype) for grad in grads]
        return super().apply(grads, trainable_variables)


def compute_policy(model):
    """The dtype policy ``model``'s layers compute in (``"float32"``, ``"mixed_float16"``, ...).

    ``model.dtype_policy`` is the global policy when the model was built or loaded: a model trained
    under ``mixed_float16`` and loaded in a float32 session reports float32 but computes in float16.
    """
    layers, policies = list(model.layers), set()
    while layers:  # the leaf layers, nested models' too (an ensemble's members, a wrapped model)
        layer = layers.pop()
        if isinstance(layer, keras.Model):
            layers += layer.layers
        elif not isinstance(layer, keras.layers.InputLayer):  # an input takes the global policy of its session
            policies.add(layer.dtype_policy.name)
    for mixed in ("mixed_float16", "mixed_bfloat16"):  # float16 first: only it needs loss scaling
        if mixed in policies:
            return mixed
    return min(policies, default=model.dtype_policy.name)


def loss_scaled(optimizer, model):
    """``optimizer`` wrapped for loss scaling (:class:`ReplicaSafeLossScaleOptimizer`) where ``model``
    computes in float16, whose small gradients would underflow; else ``optimizer`` itself."""
    if compute_policy(model) != "mixed_float16" or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return ReplicaSafeLossScaleOptimizer(optimizer)


def make_trainable(model, learning_rate=None, adversarial=True, loss=None, optimizer=None, **trainer_kwargs):
    """The compiled object ``fit`` trains: ``model`` itself, or the GAN trainer its recipe names.

    A recipe with a ``"trainer"`` entry (pix2pix, ddcolor_lite) wraps the generator in a
    ``keras.Model`` whose ``train_step`` trains generator and discriminator; the generator stays
    the artifact that is saved. ``adversarial=False`` compiles the generator alone with the
    recipe's pixel loss: the L1 pretraining stage of the two-stage recipe. ``optimizer`` replaces
    the recipe's (see :func:`compile_model`; not for a GAN trainer, which has two).
    ``trainer_kwargs`` go to the trainer (e.g. ``perceptual_weights="hed"`` for ddcolor_lite offline).
    """
    recipe = model_info(model.name).recipe
    check_trainer_kwargs(model.name, adversarial, trainer_kwargs)
    check_optimizer(model.name, adversarial, optimizer)
    if adversarial and "trainer" in recipe:
        return recipe["trainer"](model, learning_rate=learning_rate, **trainer_kwargs)
    return compile_model(model, optimizer=optimizer, learning_rate=learning_rate, loss=loss)


def check_optimizer(name, adversarial, optimizer):
    """Raise ``ValueError`` unless ``optimizer`` may replace ``name``'s recipe optimizer: ``None``, or
    a Keras optimizer's name for a stage that is not a GAN's (whose trainer has two optimizers)."""
    if optimizer is None:
        return
    if adversarial and "trainer" in model_info(name).recipe:
        raise ValueError(
            f"optimizer {optimizer!r} given for {name}'s GAN stage, whose trainer has its recipe's two "
            "optimizers; an optimizer applies to its L1 stage (adversarial=False) or to a model that is not a GAN"
        )
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return  # compile_model and make_trainable take an instance; train() records names only
    try:
        made = keras.optimizers.get(optimizer)
    except (ValueError, TypeError, KeyError):  # unknown, or "optimizer", "lossscaleoptimizer": none to train with
        made = None
    if not isinstance(made, keras.optimizers.Optimizer) or isinstance(made, keras.optimizers.LossScaleOptimizer):
        raise ValueError(f"optimizer {optimizer!r}: not a Keras optimizer name (e.g. 'adam', 'rmsprop')")


# Trainer options added after runs began recording their settings, with the value the runs that
# predate them trained with: a resumed run keeps it; a new run records the option's default.
OPTIONS_ADDED_LATER = {"enhance_factor": 1}


def _trainer_kwargs_to_record(name, trainer_kwargs, recorded):
    """``trainer_kwargs`` with every option of :data:`OPTIONS_ADDED_LATER` the trainer has: the
    given value, else the recorded run's (``recorded``: its run.json, ``{}`` for a new run), else
    for a new run the trainer's default and for an older run the value it trained with."""
    defaults = inspect.signature(model_info(name).recipe["trainer"]).parameters
    added = {key: legacy for key, legacy in OPTIONS_ADDED_LATER.items() if key in defaults}
    if "trainer_kwargs" in recorded:
        base = {key: recorded["trainer_kwargs"].get(key, legacy) for key, legacy in added.items()}
    else:
        base = {key: defaults[key].default for key in added}
    return {**base, **trainer_kwargs}


def check_trainer_kwargs(name, adversarial, trainer_kwargs):
    """Raise ``ValueError`` unless every key of ``trainer_kwargs`` is an option of ``name``'s GAN stage."""
    if not trainer_kwargs:
        return
    if not (adversarial and trainer_options(name)):
        why = "its L1 stage (adversarial=False) has no GAN trainer" if trainer_options(name) else "it is not a GAN"
        raise ValueError(f"trainer options {sorted(trainer_kwargs)} given for {name}, but {why}")
    unknown = sorted(set(trainer_kwargs) - set(trainer_options(name)))
    if unknown:
        raise ValueError(f"{name}'s trainer has no option {unknown}; its options: {', '.join(trainer_options(name))}")
    defaults = inspect.signature(model_info(name).recipe["trainer"]).parameters
    for key, value in trainer_kwargs.items():
        default = defaults[key].default
        if _is_number(default) and not _is_number(value):
            raise ValueError(f"{name}'s trainer option {key} is a number (default {default}), got {value!r}")
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{name}'s trainer option {key} is true or false (default {default}), got {value!r}")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def trainer_options(name):
    """The options of a GAN recipe's trainer (``colorzoo train --trainer-option``), ``()`` for other models.

    >>> trainer_options("pix2pix")
    ('l1_weight', 'adversarial_weight', 'chroma_weight', 'chroma_per_pixel', 'chroma_along_true_hue', 'discriminator_width')
    """
    trainer = model_info(name).recipe.get("trainer")
    if trainer is None:
        return ()
    fixed = {"generator", "discriminator", "learning_rate"}
    return tuple(parameter for parameter in inspect.signature(trainer).parameters if parameter not in fixed)


DTYPE_POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


def training_policy(dtype_policy, model, recorded):
    """The policy :func:`train` builds ``model`` (a name or a built model) under; ``recorded`` is a
    resumed run's run.json (``{}`` for a new run). See ``train(dtype_policy=...)``."""
    if not isinstance(model, str):
        built = compute_policy(model)
        if dtype_policy not in ("auto", built):
            raise ValueError(
                f"{model.name} is built to compute in {built}, not dtype_policy={dtype_policy!r}: pass its name "
                f"(train() builds it under the policy), or build it under keras.config.set_dtype_policy({dtype_policy!r})"
            )
        return built
    if dtype_policy != "auto":
        return dtype_policy
    if recorded.get("dtype_policy"):
        return recorded["dtype_policy"]
    if keras.config.dtype_policy().name != "float32":  # set by the user (or use_mixed_precision_on_gpu); float32 is
        # Keras's default, not told apart from a user's choice: dtype_policy="float32" asks for it on a GPU
        return keras.config.dtype_policy().name
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"


CPU_FLAGS_FILE = "/proc/cpuinfo"
BFLOAT16_HINT = (
    "this CPU has AMX (amx_bf16): --dtype-policy mixed_bfloat16 (train(dtype_policy='mixed_bfloat16')) trained "
    "seven of colorzoo's eight models 1.7-4.6x faster than float32 on a 2-core Xeon, hypercolumn with "
    "--option head_dtype=float32 (BENCHMARKS.md: the speeds, and same-seed runs that validated as float32's did); "
    "float32 stays the default"
)


def cpu_has_amx():
    """Whether this CPU multiplies bfloat16 matrices in AMX tiles (Linux's ``amx_bf16`` flag; Intel
    Xeon from Sapphire Rapids on), which oneDNN uses for ``mixed_bfloat16`` convolutions."""
    try:
        with open(CPU_FLAGS_FILE) as cpuinfo:
            return any(line.startswith("flags") and "amx_bf16" in line.split() for line in cpuinfo)
    except OSError:  # not Linux
        return False


def bfloat16_hint(policy):
    """:data:`BFLOAT16_HINT` where a run is about to train in float32 without a GPU on an AMX CPU, else ``None``."""
    if policy == "float32" and not tf.config.list_physical_devices("GPU") and cpu_has_amx():
        return BFLOAT16_HINT
    return None


@contextlib.contextmanager
def _global_dtype_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def use_mixed_precision_on_gpu():
    """Turn on ``mixed_float16`` when a GPU is present; returns whether it did."""
    if tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
        return True
    return False


# keras-team/keras#20585 (open): Keras 3's fit() fails under MultiWorkerMirroredStrategy, even for
# a one-layer model (checked with Keras 3.15 / TensorFlow 2.21, tests/test_training.py).
MULTIWORKER_BROKEN = (
    "MultiWorkerMirroredStrategy: Keras {keras}'s fit() fails under it, even for a one-layer model "
    "(keras-team/keras#20585), and colorzoo trains with fit(). Use strategy 'mirrored' (every GPU of one "
    "machine) or 'tpu'."
)


# One strategy per name and process: a second MirroredStrategy would share the first's collective
# keys, and a second TPU initialisation would lose the first's variables.
_STRATEGIES = {}


def get_strategy(strategy):
    """A ``tf.distribute`` strategy from a name (``"mirrored"``, ``"multiworker"``, ``"tpu"``),
    an instance (returned as is) or ``None`` (the default strategy). A name gives the same
    instance on every call in one process."""
    if strategy is None or isinstance(strategy, tf.distribute.Strategy):
        return strategy or tf.distribute.get_strategy()
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, a tf.distribute.Strategy or None; got {strategy!r}")
    if strategy not in _STRATEGIES:
        if strategy == "mirrored":
            _STRATEGIES[strategy] = tf.distribute.MirroredStrategy()
        elif strategy == "multiworker":
            _STRATEGIES[strategy] = tf.distribute.MultiWorkerMirroredStrategy()
        else:
            resolver = _tpu_resolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            _STRATEGIES[strategy] = tf.distribute.TPUStrategy(resolver)
    return _STRATEGIES[strategy]


def _tpu_resolver():
    """The cluster resolver of a named Cloud TPU (``TPU_NAME``) or, on a TPU VM (Colab's TPU
    runtime, Kaggle), of the TPU attached to this machine (``tpu="local"``)."""
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver()
    except ValueError as error:  # TensorFlow's says only "Please provide a TPU Name to connect to."
        if tpu_attached():
            return tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        raise ValueError(
            f"strategy 'tpu' found no TPU ({error}): run on a TPU machine (Colab: Runtime > Change runtime "
            "type > TPU) or set TPU_NAME to your TPU's name; for GPUs use 'mirrored'"
        ) from error


def tpu_attached():
    """Whether this machine is a TPU VM: its TPU runtime (libtpu) is installed, or its TPU chips
    show as ``/dev/accel*`` devices (v2-v4)."""
    import glob
    import importlib.util

    return importlib.util.find_spec("libtpu") is not None or bool(glob.glob("/dev/accel*"))


# === Callbacks ===


def save_atomically(model, path):
    """``model.save(path)`` through a temporary file in the same folder and ``os.replace``."""
    files.replace_atomically(path, model.save, suffix=".keras")


def _write_json_atomically(path, data):
    def write(temporary):
        with open(temporary, "w") as file:
            json.dump(data, file)

    files.replace_atomically(path, write, suffix=".json")


class AtomicCheckpoint(keras.callbacks.Callback):
    """Write ``last.keras`` every epoch and ``best.keras`` when ``monitor`` improves, atomically.

    For a GAN trainer the generator is saved. Resumes its notion of "best" from
    ``checkpoint_state.json`` so a resumed run does not overwrite a better earlier model.
    ``keep_epochs`` also keeps every epoch as ``epochs/epoch_NNN.keras`` (a GAN's epochs differ
    in more than one score: pick one afterwards from ``log.csv``).
    """

    def __init__(self, directory, monitor="val_loss", mode="min", keep_epochs=False):
        super().__init__()
        self.directory = directory
        self.monitor = monitor
        self.keep_epochs = keep_epochs
        self.sign = 1.0 if mode == "min" else -1.0
        self.state_path = os.path.join(directory, "checkpoint_state.json")
        self.best = np.inf
        if os.path.exists(self.state_path):
            with open(self.state_path) as file:
                self.best = json.load(file)["best"] * self.sign

    def on_train_begin(self, logs=None):
        files.remove_stale_temporaries(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if diverged(logs):  # TerminateOnNaN stopped a NaN epoch: keep the last good last.keras
            return
        artifact = artifact_of(self.model)
        save_atomically(artifact, os.path.join(self.directory, "last.keras"))
        if self.keep_epochs:
            os.makedirs(os.path.join(self.directory, "epochs"), exist_ok=True)
            save_atomically(artifact, epoch_checkpoint(self.directory, epoch + 1))
        value = logs.get(self.monitor, logs.get(self.monitor.removeprefix("val_")))
        if value is not None and np.isfinite(value) and self.sign * value < self.best:
            self.best = self.sign * float(value)
            save_atomically(artifact, os.path.join(self.directory, "best.keras"))
            _write_json_atomically(self.state_path, {"best": float(value), "epoch": epoch + 1, "monitor": self.monitor})


def epoch_checkpoint(run_dir, epoch):
    """The path of epoch ``epoch`` (counted from 1) of a run trained with ``keep_epochs``."""
    return os.path.join(run_dir, "epochs", f"epoch_{epoch:03d}.keras")


def diverged(logs):
    """Whether an epoch's or batch's training losses (not its ``val_`` scores) hold a NaN or infinity."""
    return bool(_non_finite(logs))


def _non_finite(logs):
    """The names of the training losses in ``logs`` that hold a NaN or infinity."""
    values = ((key, np.asarray(value)) for key, value in (logs or {}).items() if not key.startswith("val_"))
    return [key for key, value in values if value.dtype.kind == "f" and not np.isfinite(value).all()]


class StopOnDivergence(keras.callbacks.TerminateOnNaN):
    """``TerminateOnNaN`` watching every training loss, not only ``loss``: a GAN trainer logs
    ``g_loss``, ``d_loss`` and their terms, and no ``loss``."""

    def on_batch_end(self, batch, logs=None):
        if diverged(logs):
            print(f"Batch {batch}: NaN or infinite {', '.join(_non_finite(logs))}; stopping")
            self.model.stop_training = True


LOSS_FILE = "loss.json"
BACKUP_WEIGHTS = "latest.weights.h5"  # keras.callbacks.BackupAndRestore's weights file in its backup_dir
SEED_STATES = "seed_states.npz"  # AtomicBackupAndRestore's: the random generators' states, in model.variables order


def _seed_states(model):
    """The states of ``model``'s random generators (a Dropout's ``SeedGenerator``), in a fixed order."""
    return [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose backup files are replaced atomically, with the
    states of the model's random generators (Dropout's), which ``save_weights`` leaves out.

    The weights and the generators' states are written to temporary files and renamed, then the
    epoch counter: a resumed run never loads a half-written file. A kill in the instant between
    the renames leaves an epoch's weights with the counter before it, so that one epoch is trained
    again.
    """

    def on_train_begin(self, logs=None):
        files.remove_stale_temporaries(self.backup_dir)
        super().on_train_begin(logs)
        states = _seed_states(self.model)
        path = os.path.join(self.backup_dir, SEED_STATES)
        if states and os.path.exists(path) and os.path.exists(self._training_metadata_path):
            with np.load(path) as saved:
                if len(saved.files) == len(states):  # else a backup of another model: the weights said so
                    for index, state in enumerate(states):
                        state.assign(saved[f"arr_{index}"])

    def on_epoch_end(self, epoch, logs=None):
        if not diverged(logs):  # a resumed run must restore the last good weights, not NaN ones
            super().on_epoch_end(epoch, logs)

    def _save_model(self):
        files.replace_atomically(self._weights_path, self.model.save_weights, suffix=".weights.h5")
        states = [keras.ops.convert_to_numpy(state) for state in _seed_states(self.model)]
        files.replace_atomically(os.path.join(self.backup_dir, SEED_STATES), lambda path: np.savez(path, *states),
                                 suffix=".npz")
        _write_json_atomically(
            self._training_metadata_path, {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        )


def predict_batch_chroma(model, luminance):
    """Normalised chroma predicted by ``model`` for a batch (decoding bin logits), at the batch's
    resolution; :func:`colorzoo.inference.predict_chroma` is its full-resolution, one-photo form."""
    artifact = artifact_of(model)
    if None in artifact.input_shape[1:3]:  # a flexible model that cannot be traced at unknown sizes: per shape
        predict = predictor_at(artifact, tuple(luminance.shape[1:3]))
    else:
        predict = traced_predictor(artifact)
    output = predict(tf.cast(luminance, tf.float32))  # a dataset's batch may be float64
    return chroma_of_output(output, model_spec(artifact).output, size=luminance.shape[1:3])


def _own_color_space(model, color_space):
    """``color_space``, or by default that of ``model`` (a GAN trainer: its generator's)."""
    return color_space or model_spec(artifact_of(model)).color_space


def validation_scores(model, dataset, color_space=None, reference=None):
    """Mean image scores of ``model`` on the ``(luminance, chroma)`` batches of ``dataset``, whose
    chroma is of ``color_space`` (default: the model's own, ``"lab"`` or ``"yuv"``).

    Returns ``(scores, reference)``: ``scores`` holds ``val_psnr``, ``val_ssim``,
    ``val_psnr_over_gray`` (the PSNR gain over the gray baseline, ab = 0, on the same photos) and
    ``val_colourfulness_ratio`` (the predictions' mean Hasler colourfulness over the truths');
    ``reference`` holds the gray PSNR and the truths' colourfulness, measured when not given, so
    that scoring the same photos again can skip them.

    >>> scores, _ = validation_scores(model, make_dataset("photos/val", 128, 8, shuffle=False))
    """
    from colorzoo.metrics import image_metrics

    color_space = _own_color_space(model, color_space)
    totals, count = {}, 0
    for luminance, chroma in dataset:
        scores = image_metrics(luminance, chroma, predict_batch_chroma(model, luminance), color_space, reference is None)
        size = scores.pop("images")
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + value * size
        count += size
    if not count:
        raise ValueError("no colour validation photos to score")
    means = {key: total / count for key, total in totals.items()}
    if reference is None:
        reference = {"gray_psnr": means["gray_psnr"], "colourfulness": means["true_colourfulness"]}
    scores = {
        "val_psnr": means["psnr"],
        "val_ssim": means["ssim"],
        "val_psnr_over_gray": means["psnr"] - reference["gray_psnr"],
        "val_colourfulness_ratio": means["colourfulness"] / max(reference["colourfulness"], 1e-6),
    }
    return scores, reference


class ValidationImageMetrics(keras.callbacks.Callback):
    """:func:`validation_scores` of the validation set after every epoch, added to the epoch's logs.

    ``val_psnr_over_gray`` and ``val_colourfulness_ratio`` pick a colourful epoch that still
    beats, or stays near, the gray baseline. Put it before loggers and checkpoints in the
    callback list: they see the values it adds.
    """

    def __init__(self, dataset, color_space=None):
        super().__init__()
        self.dataset = dataset
        self.color_space = color_space
        self.reference = None  # the gray baseline's PSNR and the truths' colourfulness: measured once

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        scores, self.reference = validation_scores(self.model, self.dataset, self.color_space, self.reference)
        logs.update(scores)


class SampleGrid(keras.callbacks.Callback):
    """Save a gray | prediction | truth grid of a fixed validation batch after every epoch
    (``color_space``: the batch's; default the model's own)."""

    def __init__(self, luminance, chroma, directory, color_space=None):
        super().__init__()
        self.luminance = tf.convert_to_tensor(luminance[:6], tf.float32)
        self.chroma = tf.convert_to_tensor(chroma[:6], tf.float32)
        self.directory = directory
        self.color_space = color_space

    def on_epoch_end(self, epoch, logs=None):
        prediction = predict_batch_chroma(self.model, self.luminance)
        space = _own_color_space(self.model, self.color_space)
        gray = color.model_output_to_rgb(self.luminance, tf.zeros_like(self.chroma), space)
        predicted = color.model_output_to_rgb(self.luminance, prediction, space)
        truth = color.model_output_to_rgb(self.luminance, self.chroma, space)
        rows = tf.concat([gray, predicted, truth], axis=2)  # each row: gray | prediction | truth
        grid = tf.reshape(rows, (-1, rows.shape[2], 3))
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        keras.utils.save_img(path, (grid.numpy() * 255).round().astype("uint8"), scale=False)


def default_callbacks(
    out_dir, val_dataset=None, color_space=None, monitor="val_loss", samples=None, keep_epochs=False
):
    """The callbacks of every ``train()`` run, all writing under ``out_dir``.

    ``color_space``: the validation batches' (default: the model's own). ``monitor`` picks
    ``best.keras`` (a GAN trainer has no ``loss``: monitor ``val_l1``);
    ``keep_epochs`` keeps every epoch's model too (:class:`AtomicCheckpoint`).
    ``samples`` is the ``(luminance, chroma)`` batch of the sample grid; by default the first
    validation batch.
    """
    callbacks = [StopOnDivergence()]
    if val_dataset is not None:
        callbacks.append(ValidationImageMetrics(val_dataset, color_space))
        luminance, chroma = samples if samples is not None else next(iter(val_dataset))
        callbacks.append(SampleGrid(luminance, chroma, os.path.join(out_dir, "samples"), color_space))
    else:
        monitor = monitor.removeprefix("val_")
    # Checkpoint and backup before the log: an epoch that appears in log.csv is never lost.
    callbacks += [
        AtomicCheckpoint(out_dir, monitor=monitor, keep_epochs=keep_epochs),
        AtomicBackupAndRestore(os.path.join(out_dir, "backup"), delete_checkpoint=False),
        keras.callbacks.CSVLogger(os.path.join(out_dir, "log.csv"), append=True),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "tensorboard")),
    ]
    return callbacks


# === Driver ===


def _run_json(out_dir):
    """The settings ``out_dir``'s run recorded in its run.json, ``{}`` without one."""
    path = os.path.join(out_dir, "run.json")
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


def _versions():
    """The versions a run was made with (recorded in run.json, not compared on resume)."""
    import colorzoo

    return {"colorzoo": colorzoo.__version__, "keras": keras.__version__, "tensorflow": tf.__version__,
            "numpy": np.__version__}


def _check_same_run(out_dir, settings):
    """The run.json of the run in ``out_dir`` (``{}`` for none); ``ValueError`` if that run was started
    with other settings than ``settings``: the architecture (and its parameter count: a built
    model's options are not recorded), the stage (L1 or GAN), the learning rate (the backup restores
    the optimizer's), the dtype policy (the optimizer's backup loads only under its own), whether
    there was validation (``best.keras`` was chosen by it), the GAN trainer's options, or, where
    ``settings`` names one, the initial weights. Settings a run.json of an older colorzoo did not
    record are not compared."""
    recorded = _run_json(out_dir)
    if not recorded:
        return {}
    if recorded.get("adversarial") and "trainer_kwargs" in recorded:  # an older run trained without later options
        recorded["trainer_kwargs"] = _trainer_kwargs_to_record(settings["model"], recorded["trainer_kwargs"], recorded)
    as_recorded = json.loads(json.dumps(settings))  # as run.json holds them: tuples are lists
    changed = [
        f"{key} {recorded[key]!r} -> {settings[key]!r}"
        for key, value in as_recorded.items() if key in recorded and recorded[key] != value
    ]
    if changed:
        policy = "dtype_policy" in recorded and recorded["dtype_policy"] != as_recorded.get("dtype_policy")
        raise ValueError(
            f"{out_dir}: resume=True (--resume) continues the run with its own settings; changed: {', '.join(changed)}"
            + ("; its optimizer state loads only under the same policy: resume it by the model's name with "
               "dtype_policy='auto' (--dtype-policy auto, the default), which builds it under the run's own (a built "
               "model keeps the policy it was built under), or start a new run from its last.keras (initial_weights, "
               "--init)" if policy else "")
        )
    return recorded


def count_batches(dataset, source, purpose):
    """The batches in one pass over ``dataset`` (a :func:`colorzoo.data.make_dataset` of
    ``source``); a ``ValueError`` naming ``source`` and ``purpose`` if it holds no colour photo.

    Example:

    >>> val = make_dataset("val/", 128, 16, shuffle=False).cache()
    >>> count_batches(val, "val/", "validate on")   # fills the cache; ValueError if all gray
    """
    from colorzoo.data import NO_PHOTOS

    try:
        return int(dataset.reduce(0, lambda count, _: count + 1))
    except tf.errors.InvalidArgumentError as error:
        if NO_PHOTOS not in error.message:
            raise
        where = _source_name(source)
        raise ValueError(f"{where}: no colour photos to {purpose} (all grayscale or unreadable)") from None


def _source_name(source):
    """A dataset source as error messages name it: its path, or "the data" for arrays."""
    return source if isinstance(source, (str, os.PathLike)) else "the data"


def _loss_from_data(recipe, training_data, model, out_dir, resume):
    """The recipe's loss estimated from the training data (zhang_classification's class
    rebalancing), or ``None``. ``train()`` keeps it in ``out_dir/loss.json``: a resumed run trains
    on with the same loss, not one estimated anew from other shuffled batches. ``training_data()``
    makes the pipeline it reads, one of its own: reading ``fit``'s would move that one's shuffle
    and flips on, which a resumed run could not repeat."""
    if "loss_from_data" not in recipe:
        return None
    path = os.path.join(out_dir, LOSS_FILE)
    if resume and os.path.exists(path):
        with open(path) as handle:
            return keras.losses.deserialize(json.load(handle))
    return recipe["loss_from_data"](training_data(), model)


def _where_the_run_stopped(train_data, backup, steps_per_epoch):
    """``train_data`` as the interrupted run would have gone on reading it: past the batches its
    finished epochs read. With ``steps_per_epoch`` one stream serves every epoch: it is skipped;
    without, every epoch is a new pass, whose shuffle and flips follow from the passes before it."""
    metadata = os.path.join(backup, "training_metadata.json")
    if not os.path.exists(metadata):  # killed between the weights and the counter: Keras starts at epoch 0
        return train_data
    with open(metadata) as handle:
        epochs_done = json.load(handle)["epoch"]
    if steps_per_epoch is not None:
        return train_data.skip(epochs_done * steps_per_epoch)
    for _ in range(epochs_done):
        iter(train_data)
    return train_data


def _check_colour_photos(data, image_size, batch_size, color_space, data_kwargs):
    """Raise ``ValueError`` unless ``data`` holds a colour photo (a whole batch of them when the
    last short batch is dropped, as with several replicas), before the run starts."""
    from colorzoo.data import make_dataset

    whole_batches = data_kwargs.get("drop_remainder", False)
    with warnings.catch_warnings():  # the training dataset warns about skipped files once, not this probe
        warnings.simplefilter("ignore")
        first = make_dataset(
            data, image_size, batch_size if whole_batches else 1, color_space=color_space, shuffle=False, **data_kwargs
        ).take(1)
        if not count_batches(first, data, "train on"):
            raise ValueError(
                f"{_source_name(data)}: fewer colour photos than one batch of {batch_size}, and the last short batch is dropped "
                "(drop_remainder, as with several replicas): an epoch would train on nothing; lower batch_size"
            )


def train(
    model,
    data,
    val=None,
    image_size=None,
    batch_size=16,
    epochs=10,
    out_dir="runs/colorzoo",
    resume=False,
    learning_rate=None,
    strategy=None,
    steps_per_epoch=None,
    model_kwargs=None,
    data_kwargs=None,
    adversarial=True,
    initial_weights=None,
    trainer_kwargs=None,
    optimizer=None,
    keep_epochs=False,
    jit_compile="auto",
    dtype_policy="auto",
    seed=None,
    callbacks=None,
    verbose=1,
):
    """Train a registered architecture on a folder (or list) of photos, ``fit``-based.

    Args:
        model: a registry name (built here, inside the strategy's scope) or a built model.
        data, val: anything :func:`colorzoo.data.make_dataset` takes; ``val`` optional.
        image_size: training size (default: the model's native size).
        out_dir: receives ``best.keras``, ``last.keras``, ``log.csv``, ``tensorboard/``,
            ``samples/`` and ``backup/``.
        resume: continue a run that was interrupted (its ``backup/`` is restored; a run killed
            before its first backup starts again from its ``initial_weights``), with the settings
            in its run.json (changed ones are refused); a new or empty ``out_dir`` starts a run.
            Without it a folder holding an earlier run is refused rather than overwritten, and a
            non-empty folder without a run (run.json) is refused either way.
        strategy: ``None``, ``"mirrored"``, ``"tpu"`` or a strategy instance. ``"multiworker"``
            (or a ``MultiWorkerMirroredStrategy``) is refused: Keras 3's ``fit`` fails under it.
        adversarial: for GAN recipes, ``False`` trains the generator alone with L1 (the
            pretraining stage of the two-stage recipe).
        initial_weights: a ``.keras`` (or ``.weights.h5``) file of the same architecture to
            start from (e.g. the L1-pretrained generator before the GAN stage).
        trainer_kwargs: passed to the recipe's GAN trainer (names: :func:`trainer_options`);
            recorded in ``run.json`` with the other settings.
        optimizer: the name of a Keras optimizer (e.g. ``"rmsprop"``) in place of the recipe's, at
            ``learning_rate`` or the recipe's rate, with Keras's defaults otherwise (the recipe's
            betas, weight decay and schedule do not carry over); recorded in ``run.json``. Not
            for a GAN stage.
        keep_epochs: keep every epoch's model as ``out_dir/epochs/epoch_NNN.keras``, besides
            ``best.keras`` and ``last.keras``.
        jit_compile: compile the training step with XLA: ``"auto"`` (Keras' choice: on a GPU
            yes, on a CPU or under a distribution strategy no), ``True`` or ``False``. Its speed
            on a CPU depends on the machine and the model: 0.63-1.27x on one 2-core CPU, slower
            for every model on another (BENCHMARKS.md). A speed setting, not recorded in
            ``run.json``: a resumed run may change it.
        dtype_policy: the Keras dtype policy the model is built and trained under: ``"auto"``
            (a resumed run's own; else a mixed global policy the user set; else ``mixed_float16`` on
            a GPU, ``float32`` otherwise; Keras's default global float32 does not count as a choice, so
            float32 on a GPU needs ``"float32"``), ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``.
            Recorded in ``run.json``; the global policy is left as it was. On a CPU with AMX
            (:func:`cpu_has_amx`), ``"mixed_bfloat16"`` trained most models 1.7-4.6x faster than
            float32 (BENCHMARKS.md); without AMX it is slower.
        seed: a whole number that makes the run repeatable: Keras's global seed
            (``keras.utils.set_random_seed``: Python, NumPy and TensorFlow) is set to it before the
            model is built, and the training data's shuffling and flips take it. The same command
            then gives the same weights on the same machine and versions (another CPU, thread
            count or oneDNN setting changes the last digits). Without one a run draws its own
            (from Python's ``random``); either is recorded in ``run.json``, so that any run can be
            repeated, and a resumed run keeps its own: it goes on with the data where its finished
            epochs left them (reading past the batches they read) and ends bit for bit where an
            uninterrupted run would.
        callbacks: more Keras callbacks (e.g. ``EarlyStopping``), run after colorzoo's
            (:func:`default_callbacks`), so they see the validation image scores in the logs.

    Returns:
        the ``keras.callbacks.History`` of the run.
    """
    from colorzoo.data import make_dataset

    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("steps_per_epoch", steps_per_epoch),
                       ("image_size", image_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise ValueError(f"{key} must be a positive whole number, got {value!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed must be a whole number from 0, or None, got {seed!r}")
    if seed is not None and (data_kwargs or {}).get("seed", seed) != seed:
        raise ValueError(f"seed={seed} and data_kwargs seed={data_kwargs['seed']}: give one seed, train()'s")
    out_dir = os.fsdecode(out_dir)
    if callbacks is not None and (
        isinstance(callbacks, keras.callbacks.Callback)
        or not all(isinstance(callback, keras.callbacks.Callback) for callback in callbacks)
    ):
        raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {callbacks!r}")
    reserved = {"image_size", "batch_size", "color_space", "shuffle", "augment", "repeat"}
    reserved = sorted(reserved & set(data_kwargs or {}))
    if reserved:
        raise ValueError(f"data_kwargs may not set {reserved}: train() sets them (the model's colour space, "
                         "shuffled and augmented training data)")
    if "image_size" in (model_kwargs or {}):
        raise ValueError("model_kwargs may not hold image_size: give it to train() as image_size")
    if os.path.lexists(out_dir) and not os.path.isdir(out_dir):
        raise NotADirectoryError(f"{out_dir}: a file, not a folder; choose a new or empty folder for the run (out_dir)")
    if not resume and os.path.exists(os.path.join(out_dir, "last.keras")):
        raise FileExistsError(
            f"{out_dir} already holds a training run; continue it with resume=True (--resume) or choose another out_dir"
        )
    has_run = os.path.exists(os.path.join(out_dir, "run.json"))
    if not (resume and has_run) and os.path.isdir(out_dir) and os.listdir(out_dir):
        if has_run:
            raise FileExistsError(
                f"{out_dir} holds an interrupted training run; continue it with resume=True (--resume) or choose another out_dir"
            )
        raise FileExistsError(
            f"{out_dir} is not empty ({sorted(os.listdir(out_dir))[0]}, ...) and holds no run (run.json): a run writes "
            "run.json, log.csv and checkpoints there; choose a new or empty out_dir"
        )
    name = model if isinstance(model, str) else model.name
    check_trainer_kwargs(name, adversarial, trainer_kwargs)
    if optimizer is not None and not isinstance(optimizer, str):
        raise ValueError(
            f"optimizer must be a Keras optimizer's name (e.g. 'adam'), which run.json records; got {optimizer!r}"
        )
    check_optimizer(name, adversarial, optimizer)
    if not (jit_compile == "auto" or isinstance(jit_compile, bool)):
        raise ValueError(f"jit_compile must be 'auto', True or False, got {jit_compile!r}")
    if jit_compile is True and strategy is not None:
        raise ValueError(
            "jit_compile=True (--jit-compile on) with a distribution strategy: Keras compiles the step with XLA "
            "only without one (a TPU compiles it with XLA anyway); leave jit_compile at 'auto'"
        )
    if dtype_policy not in DTYPE_POLICIES:
        raise ValueError(f"dtype_policy must be one of {DTYPE_POLICIES}, got {dtype_policy!r}")
    if strategy == "multiworker" or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ValueError(MULTIWORKER_BROKEN.format(keras=keras.__version__))
    strategy = get_strategy(strategy)
    if not isinstance(model, str) and not all(
        strategy.extended.variable_created_in_scope(weight.value) for weight in model.weights
    ):
        raise ValueError(
            f"{name} was built outside the strategy's scope: build it inside `with strategy.scope():` and pass "
            "that strategy, or pass the model's name (train() then builds it in the scope)"
        )
    info = model_info(name)
    if image_size is None:  # a built model trains at its input size, a name at its native size
        image_size = model.input_shape[1] if not isinstance(model, str) and model.input_shape[1] else info.native_size
    built_sides = () if isinstance(model, str) else tuple(side for side in model.input_shape[1:3] if side)
    if built_sides and built_sides != (image_size, image_size):
        raise ValueError(
            f"{name} is built for {' x '.join(map(str, built_sides))} inputs, not image_size={image_size}: leave "
            f"image_size out, or train a copy at that size, colorzoo.inference.at_input_size(model, "
            f"({image_size}, {image_size})), which shares the weights"
        )
    gan = adversarial and "trainer" in info.recipe
    resumed_run = _run_json(out_dir) if resume else {}
    if gan:
        trainer_kwargs = _trainer_kwargs_to_record(name, trainer_kwargs or {}, resumed_run)
    policy = training_policy(dtype_policy, model, resumed_run)
    if seed is None:  # a resumed run keeps its own, data_kwargs' seed serves the whole run
        seed = resumed_run.get("seed", (data_kwargs or {}).get("seed"))
    if seed is None:  # drawn from Python's generator, so that a seed the caller set still decides it
        seed = random.randrange(SEED_RANGE)
    keras.utils.set_random_seed(seed)
    with _global_dtype_policy(policy):  # the model and a GAN's discriminator are built under it
        if isinstance(model, str):
            with strategy.scope():  # built before any photo is read, so a mistaken option fails at once
                model = build_model(name, image_size=image_size, **(model_kwargs or {}))
        os.makedirs(out_dir, exist_ok=True)  # after the build: a refused option leaves no folder behind
        settings = {
            "model": name, "image_size": image_size, "model_kwargs": model_kwargs or {}, "parameters": model.count_params(),
            "adversarial": gan, "learning_rate": learning_rate, "validation": val is not None,
            "trainer_kwargs": trainer_kwargs or {}, "optimizer": optimizer,
            # mixed_float16 (on a GPU) wraps the optimizer for loss scaling: its backup does not load into another policy's
            "dtype_policy": compute_policy(model), "seed": seed,
        }
        if initial_weights is not None:  # compared on resume only when given: resuming without it takes the run's
            settings["initial_weights"] = os.fspath(initial_weights)
        if resume:
            recorded = _check_same_run(out_dir, settings)
            settings["initial_weights"] = recorded.get("initial_weights", settings.get("initial_weights"))
        backup = os.path.join(out_dir, "backup")
        # The backup holds the weights once its first save finished (a kill during it leaves a temporary file only).
        restoring = resume and os.path.isfile(os.path.join(backup, BACKUP_WEIGHTS))
        if settings.get("initial_weights") is not None and not restoring:  # a run killed before its first backup too
            with strategy.scope():
                _load_weights_from(model, settings["initial_weights"])
        data_kwargs = {**(data_kwargs or {}), "seed": seed}
        # With several replicas a short last batch could leave one without images (TensorFlow's
        # oneDNN convolutions fail on an empty batch): it is dropped.
        data_kwargs.setdefault("drop_remainder", strategy.num_replicas_in_sync > 1)
        _check_colour_photos(data, image_size, batch_size, info.color_space, data_kwargs)

        def training_data():
            return make_dataset(
                data, image_size, batch_size, color_space=info.color_space, shuffle=True, augment=True,
                repeat=steps_per_epoch is not None, **data_kwargs,
            )

        train_data = training_data()
        val_data = samples = None
        if val is not None:
            val_data = make_dataset(
                val, image_size, batch_size, color_space=info.color_space, shuffle=False, **data_kwargs
            ).cache()
            # One pass fills the cache and counts the batches left after grayscale photos are dropped:
            # with a known length Keras does not warn that the validation input "ran out of data".
            batches = count_batches(val_data, val, "validate on")
            if not batches:
                raise ValueError(f"{val}: fewer colour photos than one batch of {batch_size} to validate on")
            val_data = val_data.apply(tf.data.experimental.assert_cardinality(batches))
            samples = next(iter(val_data))
        with strategy.scope():
            loss = _loss_from_data(info.recipe, training_data, model, out_dir, resume)
            trainable = make_trainable(model, learning_rate, adversarial, loss=loss, optimizer=optimizer,
                                       **(trainer_kwargs or {}))
        if restoring:
            train_data = _where_the_run_stopped(train_data, backup, steps_per_epoch)
        if jit_compile != "auto":
            trainable.jit_compile = jit_compile  # read when fit first makes the train function
        _write_json_atomically(
            os.path.join(out_dir, "run.json"),
            {**settings, "batch_size": batch_size, "epochs": epochs, "steps_per_epoch": steps_per_epoch,
             "initial_weights": settings.get("initial_weights"), "versions": _versions()},
        )
        if loss is not None:
            _write_json_atomically(os.path.join(out_dir, LOSS_FILE), keras.losses.serialize(loss))
        return fit_dataset(
            trainable,
            train_data,
            validation_data=val_data,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=default_callbacks(
                out_dir, val_data, info.color_space, monitor="val_l1" if gan else "val_loss", samples=samples,
                keep_epochs=keep_epochs,
            ) + list(callbacks or ()),
            verbose=verbose,
        )


def fit_dataset(trainable, dataset, **fit_kwargs):
    """``trainable.fit(dataset, **fit_kwargs)`` for a :func:`colorzoo.data.make_dataset` pipeline, without two
    Keras warnings that do not apply to it: the pipeline shuffles itself (``shuffle`` defaults to False,
    where Keras warns it ignores True), and without ``steps_per_epoch`` an epoch is one pass over photos
    counted only once grayscale ones are dropped (Keras warns at its end that the input "ran out of data").
    With ``steps_per_epoch`` that warning is kept: training data that runs out ends the run early. A
    ``validation_data`` pipeline of unknown length then warns too: give it a known length
    (``dataset.apply(tf.data.experimental.assert_cardinality(n))``, :func:`count_batches`).

    >>> fit_dataset(model, make_dataset("photos/", 128, 16), epochs=10)
    """
    fit_kwargs.setdefault("shuffle", False)
    with warnings.catch_warnings():
        if fit_kwargs.get("steps_per_epoch") is None:
            warnings.filterwarnings("ignore", message="Your input ran out of data")
        return trainable.fit(dataset, **fit_kwargs)


def _load_weights_from(model, path):
    """Copy the weights of the ``.keras`` file ``path`` into ``model``; a mismatch names both. A
    ``.weights.h5`` file (``model.save_weights``) is loaded by :func:`colorzoo.hub.load_weights_file`."""
    from colorzoo.hub import load_model, load_weights_file

    if os.fspath(path).endswith(".weights.h5"):
        load_weights_file(model, path)
        return
    source = load_model(path)
    try:
        model.set_weights(source.get_weights())
    except ValueError as error:
        raise ValueError(
            f"{path}: holds {source.name} with {source.count_params():,} parameters, which does not fit "
            f"{model.name} with {model.count_params():,}: {str(error).splitlines()[0]}"
        ) from error


def average_checkpoints(paths):
    """The model of the ``.keras`` files ``paths`` with every weight averaged over them.

    Averaging the kept epochs of one run (stochastic weight averaging, as in Yazici et al.,
    "The unusual effectiveness of averaging in GAN training", 2019) smooths out the epoch-to-epoch
    swings of a GAN generator. The files must hold the same architecture, ideally epochs of one
    run: weights of unrelated runs do not average into a working model. BatchNorm moving
    statistics are averaged like the other weights; integer variables come from the first file.

    >>> model = average_checkpoints([epoch_checkpoint("runs/gan", n) for n in range(8, 15)])
    """
    from colorzoo.hub import load_model

    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(f"average_checkpoints takes a list of .keras files, got one path: {os.fsdecode(paths)!r}")
    paths = [os.fsdecode(path) for path in paths]
    if not paths:
        raise ValueError("average_checkpoints needs at least one .keras file")
    model = load_model(paths[0])
    first = model.get_weights()
    totals = [weight.astype(np.float64) for weight in first]
    for path in paths[1:]:
        other = load_model(path)
        weights = other.get_weights()
        shapes = [weight.shape for weight in weights]
        if other.name != model.name or shapes != [total.shape for total in totals]:
            raise ValueError(
                f"{path}: holds {other.name} with {other.count_params():,} parameters, which cannot be averaged "
                f"with {paths[0]} ({model.name}, {model.count_params():,} parameters)"
            )
        for total, weight in zip(totals, weights):
            total += weight
    model.set_weights([
        (total / len(paths)).astype(weight.dtype) if np.issubdtype(weight.dtype, np.floating) else weight
        for total, weight in zip(totals, first)
    ])
    return model
