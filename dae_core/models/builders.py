"""Model builders: the autoencoder (with a named encoder), the Task 2 CNN, the
Task 3 transfer classifier, the seed's three variants, and the pretraining study's models:
an encoder frozen under a linear or a small head, and a fully connected autoencoder and classifier.

Every layer is named; the encoder is a sub-model called ``encoder`` so transfer
copies its weights by name (Keras 3 refuses ``load_weights(by_name=True)``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
from keras import layers

from dae_core.errors import DamagedModelFile, ModelFileError
from dae_core.models.arch import ARCHS, Arch  # noqa: F401 - ARCHS: the builders' defaults

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _conv(x, filters, name, arch: Arch, padding="same"):
    """Conv2D + ReLU, with batch norm between them when the arch has it."""
    if not arch.batch_norm:
        return layers.Conv2D(filters, 3, padding=padding, activation="relu", name=name)(x)
    x = layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=arch.bn_momentum, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def build_encoder(arch: Arch = ARCHS["seed"]) -> keras.Model:
    """(N, 28, 28, 1) -> latent (N, 4, 4, encoder_filters[-1]): 3 x (Conv2D + MaxPooling2D),
    with ``convs_per_block`` convolutions before each pooling."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for i, filters in enumerate(arch.encoder_filters, start=1):
        for j in range(1, arch.convs_per_block + 1):
            x = _conv(x, filters, f"enc_conv{i}" + (f"_{j}" if j > 1 else ""), arch)
        x = layers.MaxPooling2D(2, padding="same", name=f"enc_pool{i}")(x)
    return keras.Model(inputs, x, name="encoder")


def build_decoder(latent_shape, arch: Arch = ARCHS["seed"]) -> keras.Model:
    """Latent (N, 4, 4, C) -> (N, 28, 28, 1) in [0, 1]: 3 x (Conv2D + UpSampling2D), output conv."""
    inputs = keras.Input(latent_shape, name="latent")
    f1, f2, f3 = arch.encoder_filters
    x = _conv(inputs, f3, "dec_conv1", arch)
    x = layers.UpSampling2D(2, name="dec_up1")(x)  # 8x8
    x = _conv(x, f2, "dec_conv2", arch)
    x = layers.UpSampling2D(2, name="dec_up2")(x)  # 16x16
    x = _conv(x, f1, "dec_conv3", arch, padding="valid")  # 14x14
    x = layers.UpSampling2D(2, name="dec_up3")(x)  # 28x28
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", dtype="float32",
                            name="dec_output")(x)
    return keras.Model(inputs, outputs, name="decoder")


def build_autoencoder(arch: Arch = ARCHS["seed"]) -> keras.Model:
    """Task 1: encoder then decoder, both named sub-models."""
    encoder = build_encoder(arch)
    decoder = build_decoder(encoder.output_shape[1:], arch)
    inputs = keras.Input(INPUT_SHAPE, name="noisy")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def _classifier_head(x, arch: Arch, dropout: float):
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(arch.dense_units, activation="relu", name="dense")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(x)


def build_cnn_classifier(arch: Arch = ARCHS["seed"], name: str = "classifier") -> keras.Model:
    """Task 2: blocks of Conv2D + MaxPool2D (the seed's two, the improved preset's three), Flatten,
    Dense, dropout, Dense(10) softmax."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = inputs
    for i, filters in enumerate(arch.cnn_filters, start=1):
        for j in range(1, arch.convs_per_block + 1):
            x = _conv(x, filters, f"cnn_conv{i}_{j}", arch)
        x = layers.MaxPooling2D(2, name=f"cnn_pool{i}")(x)
    return keras.Model(inputs, _classifier_head(x, arch, arch.dropout), name=name)


def encoder_of(autoencoder: keras.Model) -> keras.Model:
    return autoencoder.get_layer("encoder")


def build_transfer_classifier(autoencoder: keras.Model, arch: Arch = ARCHS["seed"],
                              trainable: bool = True) -> keras.Model:
    """Task 3: a fresh encoder holding a copy of ``autoencoder``'s encoder weights, the arch's
    ``transfer_convs`` (none in the seed's), then Flatten, Dense, Dense(10). The copy keeps
    the saved autoencoder untouched, and computes in the run's precision."""
    encoder = in_policy(encoder_of(autoencoder))
    encoder.trainable = trainable
    inputs = keras.Input(INPUT_SHAPE, name="image")
    # A frozen encoder runs in inference mode so its batch-norm statistics stay put.
    features = encoder(inputs, training=False) if not trainable else encoder(inputs)
    for i, filters in enumerate(arch.transfer_convs, start=1):
        features = _conv(features, filters, f"head_conv{i}", arch)
    return keras.Model(inputs, _classifier_head(features, arch, arch.transfer_dropout), name="transfer")


def build_autoencoder_classifier(autoencoder: keras.Model, arch: Arch = ARCHS["seed"],
                                 trainable: bool = False) -> keras.Model:
    """The seed's variants: the whole autoencoder (a copy, in the run's precision) in front of
    the Task 2 CNN."""
    ae = in_policy(autoencoder)
    ae.trainable = trainable
    inputs = keras.Input(INPUT_SHAPE, name="image")
    cleaned = ae(inputs, training=False) if not trainable else ae(inputs)
    classifier = build_cnn_classifier(arch, name="cnn")
    return keras.Model(inputs, classifier(cleaned), name="ae_classifier")


FROZEN_HEADS = {"probe": "linear", "frozen_head": "small"}  # task -> head


def _frozen_encoder(autoencoder: keras.Model) -> keras.Model:
    """A copy of ``autoencoder``'s encoder with its weights, frozen."""
    encoder = in_policy(encoder_of(autoencoder))  # computes in the run's precision, as a new layer would
    encoder.trainable = False
    return encoder


def build_frozen_classifier(autoencoder: keras.Model, arch: Arch = ARCHS["seed"],
                            head: str = "linear") -> keras.Model:
    """A frozen copy of ``autoencoder``'s encoder (in inference mode) under a trained head: ``linear``,
    a probe (Flatten, Dense(10) softmax), or ``small`` (Flatten, Dense(dense_units), dropout
    ``arch.dropout``, Dense(10)). Only the head learns: what the codes hold, read out."""
    if head not in FROZEN_HEADS.values():
        raise ValueError(f"head {head!r} unknown; choose one of {tuple(FROZEN_HEADS.values())}")
    inputs = keras.Input(INPUT_SHAPE, name="image")
    features = _frozen_encoder(autoencoder)(inputs, training=False)
    if head == "small":
        outputs = _classifier_head(features, arch, arch.dropout)
    else:
        flat = layers.Flatten(name="flatten")(features)
        outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="probs")(flat)
    return keras.Model(inputs, outputs, name="probe" if head == "linear" else "frozen_head")


def build_mlp_encoder(arch: Arch = ARCHS["seed"]) -> keras.Model:
    """(N, 28, 28, 1) -> code (N, mlp_units[-1]): Flatten, then Dense + ReLU per width."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    x = layers.Flatten(name="enc_flatten")(inputs)
    for i, units in enumerate(arch.mlp_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"enc_dense{i}")(x)
    return keras.Model(inputs, x, name="encoder")


def build_mlp_autoencoder(arch: Arch = ARCHS["seed"]) -> keras.Model:
    """The fully connected autoencoder: the MLP encoder, then Dense layers mirroring it up to
    784 sigmoid pixels, reshaped to (N, 28, 28, 1). Encoder and decoder are named sub-models."""
    encoder = build_mlp_encoder(arch)
    latent = keras.Input(encoder.output_shape[1:], name="latent")
    x = latent
    for i, units in enumerate(reversed(arch.mlp_units[:-1]), start=1):
        x = layers.Dense(units, activation="relu", name=f"dec_dense{i}")(x)
    x = layers.Dense(INPUT_SHAPE[0] * INPUT_SHAPE[1], activation="sigmoid", dtype="float32",
                     name="dec_output")(x)
    image = layers.Reshape(INPUT_SHAPE, dtype="float32", name="dec_image")(x)  # else bfloat16 when mixed
    decoder = keras.Model(latent, image, name="decoder")
    inputs = keras.Input(INPUT_SHAPE, name="noisy")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def build_mlp_classifier(autoencoder: keras.Model, arch: Arch = ARCHS["seed"]) -> keras.Model:
    """The fully connected classifier: a copy of an MLP autoencoder's encoder, fine-tuned, under
    Task 3's head (Dense(dense_units), dropout ``transfer_dropout``, Dense(10))."""
    source = encoder_of(autoencoder)
    if len(source.output_shape) != 2:
        raise ValueError("the fully connected classifier starts from a fully connected autoencoder "
                         "(task mlp_ae); this one's encoder is convolutional.")
    encoder = in_policy(source)  # computes in the run's precision, as a new layer would
    inputs = keras.Input(INPUT_SHAPE, name="image")
    return keras.Model(inputs, _classifier_head(encoder(inputs), arch, arch.transfer_dropout), name="mlp")


@keras.saving.register_keras_serializable(package="dae_core")
class HorizontalFlip(layers.Layer):
    """Mirrors (N, H, W, C) images left to right, always (``RandomFlip`` does so at random)."""

    def call(self, images):
        return keras.ops.flip(images, axis=2)


def flip_averaged(classifier: keras.Model) -> keras.Model:
    """Test-time augmentation: the mean of ``classifier``'s probabilities for an image and
    for its mirror image. Fashion-MNIST's classes do not change when mirrored, and the
    improved preset trains with random flips, so both views are images it knows."""
    inputs = keras.Input(INPUT_SHAPE, name="image")
    mirrored = HorizontalFlip(name="mirror")(inputs)
    probs = layers.Average(dtype="float32", name="probs")([classifier(inputs), classifier(mirrored)])
    return keras.Model(inputs, probs, name=f"{classifier.name}_flip_averaged")


def weights_only(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its weights and no optimizer state. Keras saves a compiled
    model's optimizer with it (3x the file), also one nested inside another model, and
    recompiles nested models on loading; ``clone_model`` would compile the copy too."""
    def uncompiled(node):
        if isinstance(node, dict):
            return {k: uncompiled(v) for k, v in node.items() if k != "compile_config"}
        return [uncompiled(v) for v in node] if isinstance(node, list) else node

    copy = keras.Model.from_config(uncompiled(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


# The layers that stay float32 under a mixed precision policy, so outputs and losses are float32.
FLOAT32_LAYERS = ("dec_output", "dec_image", "probs")


def layer_policies(model: keras.Model) -> dict[str, str]:
    """Layer name -> dtype policy name, nested models' layers included (inputs left out)."""
    found = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        found[layer.name] = layer.dtype_policy.name
        if isinstance(layer, keras.Model):
            found.update(layer_policies(layer))
    return found


def in_policy(model: keras.Model, policy: str | None = None) -> keras.Model:
    """A copy of ``model`` with its weights (no optimizer state) in which every layer computes in
    ``policy`` ("float32", "mixed_bfloat16", ...; default: the global one, as a layer built now
    would), ``FLOAT32_LAYERS`` in float32. A saved layer keeps the policy it was built under, so a
    float32 autoencoder's encoder would otherwise fine-tune in float32 under a mixed-precision run,
    and a model trained in mixed precision would predict in it (``load_model``)."""
    name = policy or keras.mixed_precision.global_policy().name

    def retyped(node):
        if isinstance(node, list):
            return [retyped(v) for v in node]
        if not isinstance(node, dict):
            return node
        node = {k: retyped(v) for k, v in node.items() if k != "compile_config"}
        config = node.get("config")
        dtype = config.get("dtype") if isinstance(config, dict) else None
        if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
            kept = "float32" if config.get("name") in FLOAT32_LAYERS else name
            config["dtype"] = {**dtype, "config": {**dtype.get("config", {}), "name": kept}}
        return node

    copy = keras.Model.from_config(retyped(model.get_config()))
    copy.set_weights(model.get_weights())
    return copy


MODEL_FIX = "retrain it, or restore the shipped models with `git checkout models/`"


def load_model(path, task: str | None = None) -> keras.Model:
    """Load a ``.keras`` file, turning a missing or half-written file into a clear error, and
    (``task`` given) one of another kind (``kind_problem``) into ``DamagedModelFile``. The
    model computes in float32 whatever precision it was trained in: the figures a run records are
    its float32 model's, and one image (the dashboard's canvas and uploads) is no faster in
    bfloat16 on a CPU without AMX (``python -m benchmarks precision``)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} not found; train it first or pick another.")
    if not zipfile.is_zipfile(path):  # cut, emptied or binary: said before Keras's own error
        raise DamagedModelFile(path, "no zip archive as a .keras file is: half-written or corrupt", MODEL_FIX)
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises many types for a damaged zip
        raise DamagedModelFile(path, f"unreadable ({type(e).__name__}): half-written or corrupt",
                               MODEL_FIX) from e
    problem = kind_problem(model, task) if task else None
    if problem:
        raise DamagedModelFile(path, problem, MODEL_FIX)
    if set(layer_policies(model).values()) <= {"float32"}:
        return model
    return in_policy(model, "float32")


def kind_problem(model, task: str) -> str | None:
    """What makes ``model`` no model of ``task`` (None: nothing): an autoencoder gives back an
    image of its input's shape, a classifier ten class probabilities."""
    from dae_core.tasks import task_spec

    try:
        shapes = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    except (AttributeError, TypeError):  # several inputs or outputs
        return f"a model of several inputs or outputs, where a {task} model has one of each"
    wanted = (shapes[0], "an image like its input") if task_spec(task).is_autoencoder else ((10,), "10 classes")
    if shapes[1] != wanted[0]:
        return f"a model whose output is {shapes[1]}, where a {task} model gives {wanted[1]}"
    return None
