"""colorzoo's pix2pix GAN training against the same recipe in plain PyTorch, side by side.

The PyTorch side is written here, minimally, to match ``colorzoo/models/pix2pix.py`` layer for
layer: the U-Net generator (4x4 stride-2 convolutions C64-C128-...-C512 with LeakyReLU 0.2 and
batch norm on all but the first and the innermost, transposed convolutions with batch norm,
dropout 0.5 on the first three and ReLU, skip concatenations, a tanh output; depth and width as
colorzoo picks them for the size) and the 70 x 70 PatchGAN on (L, ab); N(0, 0.02) weights;
batch norm with Keras' epsilon (1e-3) and momentum (0.99). The step is
``colorzoo.gan.GANTrainer.train_step``'s: one generator forward, the discriminator on the real
and the generated pair, ``d_loss = (BCE(real, 1) + BCE(fake, 0)) / 2``,
``g_loss = BCE(fake, 1) + 100 * L1``, the discriminator's gradients of ``d_loss`` and the
generator's of ``g_loss`` from that one forward, and an Adam step for each (2e-4,
beta_1 0.5, epsilon 1e-7 as Keras'). colorzoo runs ``colorzoo.gan.pix2pix_trainer`` (its
registry recipe) with ``fit``.

Both train on the same numpy batches (crops of scikit-image photos in Lab), in the same process
with the same number of threads, in alternating timed windows (so a change of machine load hits
both), after one untimed round each; the ratio of the medians is printed. The script first
checks that both generators and both discriminators have the same parameter counts.

PyTorch's OpenMP threads spin while they wait for each other: on a machine whose cores are
busy with other work (load average above the core count) a two-thread PyTorch step can take
100 times longer than on a quiet one, far more than TensorFlow's suffers. Compare on a quiet
machine; ``OMP_WAIT_POLICY=PASSIVE`` in the environment limits the damage on a busy one.

Needs PyTorch (CPU build), not a colorzoo dependency:

    .venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

Usage:

    .venv/bin/python bench/torch_pix2pix.py                        # 128 px, width 1.0, batch 4
    .venv/bin/python bench/torch_pix2pix.py --image-size 256 --width 0.5 --jit
    .venv/bin/python bench/torch_pix2pix.py --quick                # 64 px, width 0.125, smoke test
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

UNET_FILTERS = (64, 128, 256, 512, 512, 512, 512, 512)  # as colorzoo.models.pix2pix
PATCHGAN_FILTERS = (64, 128, 256)
DROPOUT_BLOCKS = 3
LEAKY_SLOPE = 0.2
BN_EPSILON, BN_MOMENTUM = 1e-3, 0.01  # Keras' 1e-3 and 0.99 (PyTorch's momentum is 1 - Keras')
LEARNING_RATE, BETA_1, EPSILON = 2e-4, 0.5, 1e-7
L1_WEIGHT = 100.0


# === PyTorch models ===


def torch_models(image_size, width, depth):
    """The PyTorch generator and PatchGAN of colorzoo's pix2pix at ``image_size``, ``width``, ``depth``."""
    import torch
    from torch import nn

    def scaled(count, w=width):
        return max(2, int(round(count * w)))

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            filters = [scaled(count) for count in UNET_FILTERS[:depth]]
            self.encoder = nn.ModuleList()
            channels = 1
            for index, count in enumerate(filters, start=1):
                normalise = 1 < index < depth
                block = [nn.Conv2d(channels, count, 4, 2, 1, bias=not normalise)]
                if normalise:
                    block.append(nn.BatchNorm2d(count, eps=BN_EPSILON, momentum=BN_MOMENTUM))
                block.append(nn.LeakyReLU(LEAKY_SLOPE))
                self.encoder.append(nn.Sequential(*block))
                channels = count
            self.decoder = nn.ModuleList()
            for index, count in enumerate(reversed(filters[:-1]), start=1):
                block = [nn.ConvTranspose2d(channels, count, 4, 2, 1, bias=False),
                         nn.BatchNorm2d(count, eps=BN_EPSILON, momentum=BN_MOMENTUM)]
                if index <= DROPOUT_BLOCKS:
                    block.append(nn.Dropout(0.5))
                block.append(nn.ReLU())
                self.decoder.append(nn.Sequential(*block))
                channels = 2 * count  # concatenated with the skip
            self.output = nn.ConvTranspose2d(channels, 2, 4, 2, 1)

        def forward(self, luminance):
            x, skips = luminance * 2.0 - 1.0, []
            for block in self.encoder:
                x = block(x)
                skips.append(x)
            for block, skip in zip(self.decoder, reversed(skips[:-1])):
                x = torch.cat([block(x), skip], dim=1)
            return torch.tanh(self.output(x))

    discriminator_width = scaled(UNET_FILTERS[0]) / 64  # colorzoo matches the generator's first conv

    class PatchGAN(nn.Module):
        def __init__(self):
            super().__init__()
            layers, channels = [], 3
            for index, count in enumerate(PATCHGAN_FILTERS, start=1):
                count = scaled(count, discriminator_width)
                layers.append(nn.Conv2d(channels, count, 4, 2, 1, bias=index == 1))
                if index > 1:
                    layers.append(nn.BatchNorm2d(count, eps=BN_EPSILON, momentum=BN_MOMENTUM))
                layers.append(nn.LeakyReLU(LEAKY_SLOPE))
                channels = count
            count = scaled(512, discriminator_width)
            layers += [nn.Conv2d(channels, count, 4, 1, 1, bias=False),
                       nn.BatchNorm2d(count, eps=BN_EPSILON, momentum=BN_MOMENTUM), nn.LeakyReLU(LEAKY_SLOPE),
                       nn.Conv2d(count, 1, 4, 1, 1)]
            self.layers = nn.Sequential(*layers)

        def forward(self, luminance, ab):
            return self.layers(torch.cat([luminance * 2.0 - 1.0, ab], dim=1))

    generator, discriminator = Generator(), PatchGAN()
    for module in (*generator.modules(), *discriminator.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return generator, discriminator


def torch_trainer(generator, discriminator):
    """A function running one GANTrainer-style step on NCHW tensors; returns the losses."""
    import torch
    from torch.nn.functional import binary_cross_entropy_with_logits as bce

    g_optimizer = torch.optim.Adam(generator.parameters(), LEARNING_RATE, betas=(BETA_1, 0.999), eps=EPSILON)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), LEARNING_RATE, betas=(BETA_1, 0.999), eps=EPSILON)
    g_parameters, d_parameters = list(generator.parameters()), list(discriminator.parameters())
    generator.train()
    discriminator.train()

    def step(luminance, ab):
        fake = generator(luminance)
        real_logits = discriminator(luminance, ab)
        fake_logits = discriminator(luminance, fake)
        d_loss = 0.5 * (bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits)))
        l1 = (ab - fake).abs().mean()
        g_loss = bce(fake_logits, torch.ones_like(fake_logits)) + L1_WEIGHT * l1
        d_gradients = torch.autograd.grad(d_loss, d_parameters, retain_graph=True)
        g_gradients = torch.autograd.grad(g_loss, g_parameters)
        for parameters, gradients in ((d_parameters, d_gradients), (g_parameters, g_gradients)):
            for parameter, gradient in zip(parameters, gradients):
                parameter.grad = gradient
        d_optimizer.step()
        g_optimizer.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "l1": l1.item()}

    return step


def torch_counts(module):
    """(trainable, non-trainable) parameter counts as Keras counts them: BN running statistics
    are non-trainable weights there."""
    trainable = sum(parameter.numel() for parameter in module.parameters())
    statistics_ = sum(buffer.numel() for name, buffer in module.named_buffers() if "running_" in name)
    return trainable, statistics_


def keras_counts(model):
    trainable = sum(int(variable.numpy().size) for variable in model.trainable_variables)
    return trainable, model.count_params() - trainable


# === Run ===


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=common.positive_int, default=128)
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier (1.0 is the paper's)")
    parser.add_argument("--batch-size", type=common.positive_int, default=4)
    parser.add_argument("--steps", type=common.positive_int, default=5, help="train steps per timed window")
    parser.add_argument("--runs", type=common.positive_int, default=5, help="timed windows per framework; the median is quoted")
    parser.add_argument("--threads", type=common.positive_int, default=2, help="threads of both frameworks")
    parser.add_argument("--jit", action="store_true", help="XLA-compile colorzoo's train step (off by default on CPU)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 64 px, width 0.125, batch 2, 2 x 2 steps")
    parser.add_argument("--json", type=common.new_json_path, help="write the measurements to this file (a new one)")
    args = parser.parse_args(argv)
    if args.quick:
        args.image_size, args.width, args.batch_size, args.steps, args.runs = 64, 0.125, 2, 2, 2

    common.set_threads(args.threads)
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is missing: .venv/bin/pip install torch==2.13.0 "
                         "--index-url https://download.pytorch.org/whl/cpu") from None
    import numpy as np
    import tensorflow as tf

    from colorzoo.gan import pix2pix_trainer
    from colorzoo.models import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    machine = {**common.machine(), "torch": torch.__version__}
    common.print_machine(machine, args.threads)
    if machine["load_average_1min"] > 0.5 and "OMP_WAIT_POLICY" not in os.environ:
        print("hint: on a busy machine PyTorch's spinning OpenMP threads slow it down far more than TensorFlow; "
              "OMP_WAIT_POLICY=PASSIVE limits that, a quiet machine avoids it.")
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"pix2pix U-Net at {args.image_size} px, width {args.width}, batch {args.batch_size}")

    # === Models, checked for equal sizes ===
    generator = build_model("pix2pix", image_size=args.image_size, width=args.width, encoder_weights=None)
    trainer = pix2pix_trainer(generator)
    trainer.jit_compile = args.jit
    depth = sum(layer.name.startswith("enc") and layer.name.endswith("_conv") for layer in generator.layers)
    torch_generator, torch_discriminator = torch_models(args.image_size, args.width, depth)
    counts = {
        "generator": (keras_counts(generator), torch_counts(torch_generator)),
        "discriminator": (keras_counts(trainer.discriminator), torch_counts(torch_discriminator)),
    }
    rows = [[name, f"{k[0]:,} + {k[1]:,}", f"{t[0]:,} + {t[1]:,}", "yes" if k == t else "NO"]
            for name, (k, t) in counts.items()]
    print(f"\nParameters (trainable + batch-norm statistics), U-Net depth {depth}:\n")
    print(common.markdown_table(["network", "colorzoo (Keras)", "PyTorch", "equal"], rows))
    if any(k != t for k, t in counts.values()):
        raise SystemExit("the PyTorch networks do not match colorzoo's: fix torch_models before comparing speed")

    # === The same batches for both ===
    batches = common.photo_batches(args.image_size, args.batch_size, count=4)
    keras_data = tf.data.Dataset.from_tensor_slices(
        (np.stack([b[0] for b in batches]), np.stack([b[1] for b in batches]))
    ).repeat()
    torch_batches = [tuple(torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))) for a in batch)
                     for batch in batches]
    torch_step = torch_trainer(torch_generator, torch_discriminator)

    def torch_window(steps, start_index):
        """``steps`` PyTorch steps after one untimed step, cycling through the batches."""
        losses = torch_step(*torch_batches[start_index % len(torch_batches)])
        wall, cpu = time.perf_counter(), time.process_time()
        for index in range(steps):
            losses = torch_step(*torch_batches[(start_index + 1 + index) % len(torch_batches)])
        return time.perf_counter() - wall, time.process_time() - cpu, losses

    start = time.perf_counter()
    trainer.fit(keras_data, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    keras_first = time.perf_counter() - start
    start = time.perf_counter()
    torch_window(0, 0)
    torch_first = time.perf_counter() - start

    # === Alternating timed windows; the first round warms both up ===
    seconds = {"colorzoo": [], "pytorch": []}
    cpu = {"colorzoo": [], "pytorch": []}
    torch_losses = None
    for round_index in range(args.runs + 1):
        window = common.timed_fit(trainer, keras_data, runs=1, steps=args.steps, warmup_steps=1)
        wall, cpu_seconds, torch_losses = torch_window(args.steps, round_index * (args.steps + 1))
        if round_index:
            seconds["colorzoo"] += window["wall"]
            cpu["colorzoo"] += window["cpu"]
            seconds["pytorch"].append(wall)
            cpu["pytorch"].append(cpu_seconds)
    images = args.steps * args.batch_size
    keras_losses = {key: float(value) for key, value in trainer.get_metrics_result().items()}

    x, y = (tf.constant(array) for array in batches[0])
    flops = common.train_step_flops(trainer, x, y)
    rates = {name: common.rate(images, values) for name, values in seconds.items()}
    rows = []
    for name, first, losses in (("colorzoo" + (" (XLA)" if args.jit else ""), keras_first, keras_losses),
                                ("PyTorch", torch_first, torch_losses)):
        key = "colorzoo" if name.startswith("colorzoo") else "pytorch"
        median, low_high = rates[key]
        rows.append([name, f"{median:.2f}", common.spread(low_high, median),
                     f"{statistics.median(cpu[key]) / images:.3f}", f"{flops * median / 1e9:.1f}", f"{first:.1f}",
                     f"{losses['d_loss']:.3f} / {losses['g_loss']:.2f}"])
    print(f"\nTraining, {args.runs} windows of {args.steps} steps each, alternating "
          f"({flops / 1e9:.2f} GFLOP per image per step):\n")
    print(common.markdown_table(["framework", "img/s", "runs", "CPU s/img", "GFLOP/s", "first step s",
                                 "last d_loss / g_loss"], rows))
    ratio = rates["colorzoo"][0] / rates["pytorch"][0]
    print(f"\ncolorzoo / PyTorch: {ratio:.2f}x the images per second. Load average now {os.getloadavg()[0]:.2f}.")
    common.write_json(args.json, {"machine": machine, "args": vars(args), "parameters": counts,
                                  "seconds": seconds, "cpu_seconds": cpu, "train_flops_per_image": flops,
                                  "images_per_second": {k: v[0] for k, v in rates.items()}, "ratio": ratio})
    return 0


if __name__ == "__main__":
    sys.exit(main())
